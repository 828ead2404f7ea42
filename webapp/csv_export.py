"""Streamed CSV downloads that are safe to open in a spreadsheet."""
import csv
import io

from flask import Response, stream_with_context

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Lets Excel read the file as UTF-8 (names in Indonesian and Indian scripts).
BOM = "\ufeff"


def neutralise(value):
    """Prefix a quote so spreadsheets show the text instead of evaluating it; our importer removes it again."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_line(cells):
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue()


def csv_download(filename, header, rows):
    """A streamed response: the header, then one line per row of cells, each cell neutralised."""

    def lines():
        yield BOM + csv_line(header)
        for row in rows:
            yield csv_line(row)

    return text_download(filename, lines())


def text_download(filename, chunks):
    """A streamed CSV response of already formatted text chunks."""
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
