"""The thin Starlette layer: routes list, Jinja2 templates, static files, lifespan."""
