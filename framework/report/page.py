"""What every report page shares: its Jinja2 template (each extends `_page.html.j2`, the
shared style, plotly.js inlined, the page's model embedded once as JSON in
`<script id="report-data">`, the start and end of the page's script) filled in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mismartera.errors import UserError


def embed(model: Mapping[str, Any]) -> str:
    """The model as JSON safe inside a <script> element."""
    text = json.dumps(dict(model), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(name: str, data: Mapping[str, Any], /, **context: Any) -> str:
    """The page of template `name` (in this package) given `context`, plotly.js
    (`plotly_js`) and `data`, the page's model, as JSON (`data_json`)."""
    try:
        import jinja2
        from plotly.offline import get_plotlyjs
    except ImportError as e:
        raise UserError(f"the report needs plotly and jinja2 ({e.name} is missing): "
                        "pip install 'mismartera[report]'") from None
    env = jinja2.Environment(loader=jinja2.PackageLoader("mismartera.report", "."),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(**context, data_json=embed(data),
                                         plotly_js=get_plotlyjs())
