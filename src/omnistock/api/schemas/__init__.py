"""Request and response models of the v1 API (schemas are not tables), one module a resource.

`common` holds what they share (the base `Model`, keys, text, sku-quantity lines);
`problems` the shape of every error answer; the others follow the routes of the same name.
The class names are the OpenAPI component names: renaming one changes the published document.
"""
