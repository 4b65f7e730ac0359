"""The v1 HTTP API: FastAPI routers, request and response models, auth and errors."""
