"""report.html (pure): the Markdown rendered by markdown-it (CommonMark + tables), PNGs embedded as data
URIs so the file stands alone. Its print styles are the PDF's layout (WeasyPrint renders this page)."""

from __future__ import annotations

import base64
import html
import re
from typing import Any

from lab.report import document
from lab.report.to_markdown import render_markdown

# Screen: wide outputs scroll sideways. Print (the PDF): A4 portrait; wide outputs wrap (pre-wrap), and
# each output line is its own block with a hanging indent, so a wrapped line stays visibly one line.
CSS = """body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:.85rem;line-height:1.35}
pre .ln{display:block;min-height:1.35em}
code{font-family:"DejaVu Sans Mono",ui-monospace,monospace}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
blockquote{border-left:4px solid #e0a800;margin:.5rem 0;padding:.25rem .75rem;background:#fff8e1}
img{max-width:100%;border:1px solid #ddd}h2{border-bottom:1px solid #ddd;padding-bottom:.25rem;margin-top:2.5rem}
h1+p{font-size:1.05rem}
@page{size:A4;margin:16mm 14mm 18mm 14mm;
  @bottom-left{content:string(doctitle);font:7pt "DejaVu Sans",sans-serif;color:#777}
  @bottom-right{content:"page " counter(page) " of " counter(pages);font:7pt "DejaVu Sans",sans-serif;color:#777}}
@media print{
  body{max-width:none;margin:0;padding:0;font-size:9.5pt;line-height:1.35}
  h1{string-set:doctitle content();font-size:17pt;margin:0 0 .4rem}
  h2{font-size:13pt;margin-top:1.4rem;break-after:avoid}
  h3{font-size:11pt;break-after:avoid}h4{font-size:10pt;break-after:avoid}
  p code,li code{font-size:.88em}li{font-size:8pt}
  pre{overflow:visible;white-space:pre-wrap;overflow-wrap:anywhere;font-size:6.8pt;line-height:1.3;padding:.45rem;
      break-before:avoid;break-inside:avoid}
  pre .ln{padding-left:2em;text-indent:-2em;min-height:1.3em}
  pre+p{margin-top:-.5rem;break-before:avoid}
  table{width:100%;break-inside:avoid}td,th{font-size:7.5pt;padding:.15rem .3rem;overflow-wrap:break-word}
  blockquote p{margin:.2rem 0}
  img{max-height:95mm;break-inside:avoid}
  sub{font-size:7pt;color:#555;vertical-align:baseline}
  p,blockquote{orphans:2;widows:2}p,li{overflow-wrap:break-word}
}"""


def _lines_as_blocks(match: re.Match) -> str:
    """<pre><code>a\\nb</code></pre> -> one span per line (for the hanging indent); text unchanged."""
    open_tag, body = match.group(1), match.group(2)
    rows = body.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    return open_tag + "".join(f'<span class="ln">{row}</span>' for row in rows) + "</code></pre>"


def render_html(report: dict[str, Any], images: dict[str, bytes] | None = None) -> str:
    """report.html; an image not in ``images`` stays a relative link."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(render_markdown(report))
    images = images or {}

    def embed(match: re.Match) -> str:
        src = html.unescape(match.group(1))
        if src in images:
            return f'src="data:image/png;base64,{base64.b64encode(images[src]).decode()}"'
        return match.group(0)

    body = re.sub(r'src="([^"]+)"', embed, body)
    body = re.sub(r"(<pre><code[^>]*>)(.*?)</code></pre>", _lines_as_blocks, body, flags=re.S)
    head = document.title_block(report)
    title = html.escape(f"{head['title']}: {head['name']}, {head['date']}")
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{CSS}</style></head>\n<body>\n{body}</body></html>\n")
