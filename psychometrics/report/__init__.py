"""HTML rendering: jinja2 templates (autoescaped) and inline SVG figures."""
