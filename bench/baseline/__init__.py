"""The naive baseline: what a plain DRF tutorial gives, serving the same routes and JSON.

ModelViewSet per resource, offset pagination with an exact count on every
request, full objects, related objects fetched per row, no cache, no ETag, no
gzip, Django's default middleware. Same models, same serializers, same tenancy
rules, so the comparison measures the engineering, not a different API.
"""
