"""A finished run's page parts and exports, rendered once per language and then served
from Django's cache (settings.CACHES: files under var/cache by default, Redis when
DJANGO_CACHE_URL says so).

A finished run never changes: an outcome is stored only on a supplier still waiting
(execution.py), a run is done only when none is waiting and a failed run's waiting
suppliers fail in the same transaction (runs.py), the admin shows runs read-only, and the
pages show the snapshot's supplier names and address, never the live ones. So nothing
invalidates these parts. What does change around a finished run (its age and staleness,
the re-run button and its token, CSRF tokens, the ordering partial) is rendered live in
run_detail.html, outside the cached part.

A key names the run (id, created and finished times: unique even where a database reuses
ids, as a test database does), the part, the language, `variant(request)` and a version
that changes with the templates, the code that builds the breakdown and the catalogue, so
a deployment never serves a part rendered by older code.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from . import exports, limits, selectors
from .breakdown import RunBreakdown, build_breakdown, supplier_view
from .models import PreviewRun

BREAKDOWN_TEMPLATE = "previews/_run_breakdown.html"
SUPPLIER_TEMPLATE = "previews/_run_supplier.html"
LINES_TEMPLATE = "previews/_run_supplier_lines.html"

# What a cached part is made from: a change to any of these renders the parts again.
_APP = Path(__file__).resolve().parent
_SOURCES = (
    *(settings.BASE_DIR / "templates" / name for name in (BREAKDOWN_TEMPLATE, SUPPLIER_TEMPLATE,
                                                          LINES_TEMPLATE)),
    _APP / "breakdown.py", _APP / "exports.py", _APP / "failures.py", _APP / "money.py",
    _APP / "run_pages.py", _APP / "templatetags" / "previews_tags.py",
    *sorted(Path(folder) for folder in settings.LOCALE_PATHS),
)  # fmt: skip


def variant(request) -> tuple:
    """What else a cached part depends on besides the run, the part, the language and the
    version. A feature that shows a finished run differently to different viewers (a
    display currency, say) adds what it depends on to this tuple."""
    return ()


def lines_collapsed(run: PreviewRun) -> bool:
    """A run of more lines than RUN_PAGE_MAX_LINES_SHOWN shows each supplier's totals and
    a link to its lines, loaded on demand (`supplier_part`), so its page stays small.
    Reads the prefetched `suppliers`."""
    asked = sum(len(s.requested_lines) for s in run.suppliers.all())
    return asked > limits.RUN_PAGE_MAX_LINES_SHOWN


# --------------------------------------------------------------------------- the run page


@dataclass(frozen=True)
class Part:
    """A rendered part of a page, as UTF-8 HTML, for `render_with_parts`."""

    html: bytes
    breakdown: RunBreakdown | None = None  # built when rendered live (a working run)
    title: str = ""


def breakdown_part(request, run: PreviewRun) -> Part:
    """The breakdown part of a run's page (grand total and suppliers).

    A finished run's comes from the cache (rendered the first time it is shown; no query
    at all afterwards) and its breakdown is not built. A run still working is rendered
    live, with its breakdown for the page's progress list."""
    if not run.is_finished:
        return _render_breakdown(run)
    key = _key(request, run, "breakdown")
    cached = _get(key)
    if cached is not None:
        return Part(cached)
    part = _render_breakdown(run)
    _set(key, part.html)
    return Part(part.html)


def _render_breakdown(run: PreviewRun) -> Part:
    full = selectors.runs_with_results(PreviewRun.objects.filter(pk=run.pk)).get()
    breakdown = build_breakdown(full)
    html = render_to_string(
        BREAKDOWN_TEMPLATE,
        {
            "run": full,
            "breakdown": breakdown,
            "collapsed": lines_collapsed(full),
            "max_lines_shown": limits.grouped(limits.RUN_PAGE_MAX_LINES_SHOWN),
        },
    )
    return Part(html.encode(), breakdown=breakdown)


def supplier_part(request, run: PreviewRun, position: int, *, lines_only: bool) -> Part:
    """One supplier of a run, its name as `title`: its whole section (a page of its own,
    the link's target without JavaScript) or only its lines (`lines_only`, what the run
    page's script puts where the link was). Cached when the run is finished; 404 when
    the run has no supplier at `position`."""
    part = f"supplier-{position}-{'lines' if lines_only else 'section'}"
    key = _key(request, run, part) if run.is_finished else None
    cached = _get(key) if key else None
    if cached is not None:  # the name's length in 8 digits, the name, the HTML
        size = int(cached[:8])
        return Part(cached[8 + size :], title=cached[8 : 8 + size].decode())
    preview = selectors.run_supplier_with_results(run=run, position=position)
    view = supplier_view(preview)
    context = {"run": run, "supplier": view, "collapsed": False}
    html = render_to_string(LINES_TEMPLATE if lines_only else SUPPLIER_TEMPLATE, context).encode()
    if key:
        name = view.name.encode()
        _set(key, b"%08d" % len(name) + name + html)
    return Part(html, title=view.name)


def render_with_parts(
    request, template: str, context: dict, parts: dict[str, Part], *, status: int = 200
):
    """`render(request, template, context)` with each part's HTML where the template
    shows the context variable of its name. The live page is rendered with a marker in
    each place, then the part's bytes are put there: a cached part is not decoded, copied
    through the template and encoded again (most of the cost of a big page)."""
    markers = {name: f"<!--{name}:{uuid.uuid4().hex}-->" for name in parts}
    response = render(
        request,
        template,
        {**context, **{name: mark_safe(marker) for name, marker in markers.items()}},  # noqa: S308
        status=status,
    )
    content = response.content
    for name, marker in markers.items():
        content = content.replace(marker.encode(), parts[name].html, 1)
    response.content = content
    return response


# --------------------------------------------------------------------------- exports


def export_file(request, run: PreviewRun, file_format: str) -> Iterator[bytes]:
    """A run's export as chunks of bytes, for a streamed answer: from the cache when a
    finished run's was made before, otherwise written as it is read (CSV row by row, XLSX
    in openpyxl's write-only mode, suppliers read a few at a time) and, for a finished
    run, kept in the cache once written in full. In the request's language, although the
    chunks are read after the view has returned."""
    key = _key(request, run, f"export-{file_format}") if run.is_finished else None
    return _export_chunks(run, file_format, key, get_language() or settings.LANGUAGE_CODE)


def _export_chunks(run, file_format, key, language) -> Iterator[bytes]:
    with translation.override(language):
        cached = _get(key) if key else None
        if cached is not None:
            yield cached
            return
        rows = exports.iter_export_rows(selectors.iter_supplier_views(run))
        kept = []
        for chunk in _written(rows, file_format, title=f"preview-run-{run.pk}"):
            if key:
                kept.append(chunk)
            yield chunk
        if key:  # the whole file was read: keep it
            _set(key, b"".join(kept))


def _written(rows, file_format: str, *, title: str) -> Iterator[bytes]:
    if file_format != "xlsx":
        yield from exports.iter_csv(rows)
        return
    # An XLSX is a zip, written at the end: spooled to a temporary file, then read out.
    with tempfile.TemporaryFile() as spool:
        exports.write_xlsx(rows, spool, title=title)
        spool.seek(0)
        while chunk := spool.read(256 * 1024):
            yield chunk


# --------------------------------------------------------------------------- the cache


def _key(request, run: PreviewRun, part: str) -> str:
    language = get_language() or settings.LANGUAGE_CODE
    stamp = (
        f"{run.created_at.timestamp():.6f}-{run.finished_at.timestamp() if run.finished_at else ''}"
    )
    variant_hash = hashlib.sha1(repr(variant(request)).encode(), usedforsecurity=False).hexdigest()[
        :12
    ]
    return f"run-page:{run.pk}:{stamp}:{part}:{language}:{variant_hash}:{_version()}"


def _get(key: str) -> bytes | None:
    value = cache.get(key)
    if value is None:
        return None
    flag, data = value[:1], value[1:]
    return zlib.decompress(data) if flag == b"z" else data


def _set(key: str, data: bytes) -> None:
    # Compressed for a cache in memory (Redis): a run page's HTML shrinks about tenfold.
    # Not in files, where reading it whole is cheaper than inflating it.
    value = b"r" + data if _in_files() else b"z" + zlib.compress(data)
    cache.set(key, value, settings.RUN_PAGE_CACHE_SECONDS)


def _in_files() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache")


def _version() -> str:
    stamps = []
    for file in _source_files():
        try:
            stat = file.stat()
        except FileNotFoundError:
            continue
        stamps.append((str(file), stat.st_mtime_ns, stat.st_size))
    return _digest(tuple(stamps))


@lru_cache(maxsize=1)
def _source_files() -> tuple[Path, ...]:
    return tuple(
        file
        for path in _SOURCES
        for file in (sorted(path.rglob("*.mo")) if path.is_dir() else [path])
    )


@lru_cache(maxsize=8)
def _digest(stamps: tuple) -> str:
    """A hash of the sources' contents (not their times, so machines sharing a cache agree)."""
    digest = hashlib.sha1(usedforsecurity=False)
    for name, _mtime, _size in stamps:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:12]
