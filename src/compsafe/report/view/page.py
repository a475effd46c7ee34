"""The report as a document of sections and blocks, written as report.md and as report.html.

One structure, two renderers: report.md (GitHub renders its tables, anchors and `<details>`) and a
self-contained report.html (CSS inline, figures embedded, nothing from the network). Text a job
or a benchmark wrote (labels, notes, errors, group names) is never HTML: Markdown text goes
through markdown-it with raw HTML off, everything else through `html.escape`.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
from dataclasses import dataclass, field
from pathlib import Path


def anchor(title: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: pipes and line breaks would end the cell or the row."""
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass
class TableCell:
    """A table cell: `text` in report.md; in report.html `lines` stacked (default: the text),
    each with a role in `roles` (v: value, m: muted, d: a change, coloured by the cell's `tone`:
    worse, better or neutral), `strong` (shaded) when significant, and a tooltip."""

    text: str
    lines: tuple[str, ...] = ()
    roles: str = ""
    tone: str = ""
    strong: bool = False
    title: str = ""


@dataclass
class Text:
    """Markdown paragraphs or a list."""

    markdown: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[TableCell | str]]
    caption: str = ""  # Markdown, above the table


@dataclass
class Figure:
    path: Path
    caption: str  # what is plotted and over how many items (plain text)
    dimension: str = ""


@dataclass
class Figures:
    """A grid of small multiples (`wide`: one figure across the page)."""

    figures: list[Figure]
    wide: bool = False


@dataclass
class Folded:
    """Closed by default: `<details>` in both renderers."""

    summary: str
    blocks: list


@dataclass
class Contents:
    """The table of contents: (title, level) of the sections that follow."""

    entries: list[tuple[str, int]]


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    level: int = 2


@dataclass
class Document:
    title: str
    intro: list
    sections: list[Section]

    def contents(self) -> Contents:
        return Contents([(s.title, s.level) for s in self.sections])

    def markdown(self, folder: Path) -> str:
        out = [f"# {self.title}", ""]
        for block in [*self.intro, self.contents()]:
            out += _md(block, folder)
        for section in self.sections:
            out += ["#" * section.level + f" {section.title}", ""]
            for block in section.blocks:
                out += _md(block, folder)
        return "\n".join(out).rstrip() + "\n"

    def html(self, folder: Path) -> str:
        body = [f"<header><h1>{_esc(self.title)}</h1>"]
        body += [_html(b, folder) for b in [*self.intro, self.contents()]] + ["</header><main>"]
        for s in self.sections:
            body.append(f'<h{s.level} id="{anchor(s.title)}">{_esc(s.title)}</h{s.level}>')
            body += [_html(b, folder) for b in s.blocks]
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<meta name='color-scheme' content='light dark'>"
            f"<title>{_esc(self.title)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</main></body></html>\n"
        )


def _md(block, folder: Path) -> list[str]:
    if isinstance(block, Text):
        return [block.markdown, ""]
    if isinstance(block, Table):
        head = [block.caption, ""] if block.caption else []
        rows = [[c.text if isinstance(c, TableCell) else c for c in row] for row in block.rows]
        lines = ["| " + " | ".join(md_cell(h) for h in block.header) + " |"]
        lines += ["|" + "---|" * len(block.header)]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
        return [*head, *lines, ""]
    if isinstance(block, Figures):
        out = []
        for f in block.figures:
            out += [f"![{md_cell(f.path.stem)}]({f.path.relative_to(folder).as_posix()})", ""]
            out += [f"*{md_text(f.caption)}*", ""]
        return out
    if isinstance(block, Folded):
        inner = [line for b in block.blocks for line in _md(b, folder)]
        return [f"<details><summary>{_esc(block.summary)}</summary>", "", *inner, "</details>", ""]
    if isinstance(block, Contents):
        return [
            f"{'  ' * (level - 2)}- [{title}](#{anchor(title)})" for title, level in block.entries
        ] + [""]
    raise TypeError(block)


def md_text(text: str) -> str:
    """Plain text inside Markdown emphasis: characters Markdown would read as syntax escaped."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)


def _esc(text: str) -> str:
    return html_lib.escape(str(text), quote=True)


def _inline(markdown: str) -> str:
    """Markdown to HTML with raw HTML off: tags in a label or note come out as text."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)


def _cell_html(cell: TableCell | str, tag: str = "td") -> str:
    if not isinstance(cell, TableCell):
        return f"<{tag}>{_esc(cell)}</{tag}>"
    classes = " ".join(c for c in (cell.tone and f"t-{cell.tone}", cell.strong and "sig") if c)
    attrs = (f' class="{classes}"' if classes else "") + (
        f' title="{_esc(cell.title)}"' if cell.title else ""
    )
    lines = cell.lines or (cell.text,)
    roles = cell.roles.ljust(len(lines), "v")
    inner = "".join(
        f'<span class="{r}">{_esc(t)}</span>' for t, r in zip(lines, roles, strict=False)
    )
    return f"<{tag}{attrs}>{inner}</{tag}>"


def _image(path: Path) -> str:
    kind = "svg+xml" if path.suffix == ".svg" else "png"
    return f"data:image/{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _fit(path: Path) -> str:
    """A lone figure's card as wide as its PNG (its width from the IHDR chunk), not the page."""
    head = path.read_bytes()[:24] if path.suffix == ".png" else b""
    width = int.from_bytes(head[16:20], "big") if head[12:16] == b"IHDR" else 0
    return f' style="max-width:{width + 18}px"' if width else ""


def _html(block, folder: Path) -> str:
    if isinstance(block, Text):
        return _inline(block.markdown)
    if isinstance(block, Table):
        head = "".join(f"<th>{_esc(h)}</th>" for h in block.header)
        rows = "".join(
            "<tr>" + _cell_html(r[0], "th") + "".join(_cell_html(c) for c in r[1:]) + "</tr>"
            for r in block.rows
        )
        caption = _inline(block.caption) if block.caption else ""
        return (
            f'{caption}<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    if isinstance(block, Figures):
        items = "".join(
            f'<figure{_fit(f.path) if block.wide else ""}><img src="{_image(f.path)}" '
            f'alt="{_esc(f.path.stem)}" decoding="async">'
            f"<figcaption>{_esc(f.caption)}</figcaption></figure>"
            for f in block.figures
        )
        return f'<div class="grid{" wide" if block.wide else ""}">{items}</div>'
    if isinstance(block, Folded):
        inner = "".join(_html(b, folder) for b in block.blocks)
        return f"<details><summary>{_esc(block.summary)}</summary>{inner}</details>"
    if isinstance(block, Contents):
        links = "".join(
            f'<li class="lv{level}"><a href="#{anchor(title)}">{_esc(title)}</a></li>'
            for title, level in block.entries
        )
        return f'<nav aria-label="Contents"><ul>{links}</ul></nav>'
    raise TypeError(block)


CSS = """
:root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--panel:#f6f8fa;--line:#d0d7de;--link:#0969da;
--worse:#b42318;--worse-bg:#fbd5d0;--better:#175cd3;--better-bg:#d1e3fb;--neutral:#6941c6;
--neutral-bg:#e4dcf7}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;
--panel:#161b22;--line:#30363d;--link:#58a6ff;--worse:#ff8a7a;--worse-bg:#5c1d16;
--better:#79b8ff;--better-bg:#12325c;--neutral:#c3a6ff;--neutral-bg:#35245c}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,main{max-width:1360px;margin:0 auto;padding:0 20px}
header{padding-top:14px}
h1{font-size:22px;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:19px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:20px 0 6px}
p,li{max-width:110ch}
header p{margin:2px 0;color:var(--muted)}
a{color:var(--link)}
code{font-size:90%;background:var(--panel);padding:0 3px;border-radius:3px}
blockquote{margin:6px 0;padding:4px 10px;border-left:4px solid var(--worse);background:var(--panel)}
nav ul{display:flex;flex-wrap:wrap;gap:2px 14px;list-style:none;margin:8px 0;padding:6px 10px;
background:var(--panel);border:1px solid var(--line);border-radius:6px;font-size:14px}
nav li.lv3{font-size:13px}
nav li.lv3::before{content:"\\203A  ";color:var(--muted)}
.scroll{overflow-x:auto;max-width:100%;margin:6px 0 14px}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--line);padding:3px 7px;vertical-align:top;text-align:left}
thead th{background:var(--panel);font-weight:600;min-width:6em;max-width:12em}
tbody th{font-weight:500;min-width:9em;max-width:16em}
td span,th span{display:block;white-space:nowrap}
td span.m{color:var(--muted);font-size:11.5px}
td span.d{color:var(--muted)}
td.sig.t-worse span.d{color:var(--worse)}
td.sig.t-better span.d{color:var(--better)}
td.sig.t-neutral span.d{color:var(--neutral)}
td.sig{font-weight:600}
td.sig.t-worse{background:var(--worse-bg)}
td.sig.t-better{background:var(--better-bg)}
td.sig.t-neutral{background:var(--neutral-bg)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:14px;
margin:8px 0 18px}
.grid.wide{grid-template-columns:1fr}
figure{margin:0;padding:8px;background:#fff;border:1px solid var(--line);border-radius:6px;
color:#1b1f24}
.grid.wide img{margin:0}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:12.5px;color:#57606a;margin-top:4px}
details{margin:8px 0;padding:4px 10px;border:1px solid var(--line);border-radius:6px}
summary{cursor:pointer;font-weight:600}
"""
