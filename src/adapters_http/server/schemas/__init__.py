"""Request and response schemas: attrs classes of the HTTP edge, separate from the domain entities.

They are declarative (types, defaults, `metadata` descriptions and JSON Schema keywords) so that the
OpenAPI document can be generated from the very classes the handlers structure and unstructure.
"""
