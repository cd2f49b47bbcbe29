"""The web surface: FastAPI app, JSON API routers and server-rendered pages."""
