"""The portal's charts: Chartkick.js line charts drawn by static/portal/portal.js, no inline script.

chartkick's own Python helper writes each chart with an inline `<script>` (and an inline style),
which the portal's Content-Security-Policy (`script-src 'self'`, `style-src 'self'`) blocks. A
chart here is a `<div data-chart>` naming its `json_script` block (type, data, options, height);
portal.js finds each one and calls `new Chartkick.LineChart(element, data, options)`.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext

# A CSS length of letters, digits, `%` and `.` only ("280px", "100%"): nothing that could break out.
_CSS_LENGTH = re.compile(r"^[a-zA-Z0-9%.]+$")


def line_chart(data: list[dict[str, Any]], *, height: str = "300px", **options: Any) -> SafeString:
    """A line chart of `data` (Chartkick's series: `[{"name": …, "data": {x: y}}]`) with its options."""
    if not _CSS_LENGTH.match(height):
        raise ValueError(f"A chart's height must be a CSS length such as 280px, not {height!r}.")
    element_id = f"chart-{secrets.token_hex(8)}"
    spec = {"type": "LineChart", "data": data, "options": options, "height": height}
    return format_html(
        '<div id="{}" class="pd-chart" data-chart="{}-data">{}</div>{}',
        element_id,
        element_id,
        gettext("Loading…"),
        json_script(spec, f"{element_id}-data"),
    )
