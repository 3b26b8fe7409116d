"""Request handlers, one module per resource. Each is thin: parse, convert, call one use case, convert back."""
