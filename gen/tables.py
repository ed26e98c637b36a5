"""The CSV and JSON tables the workload commands write (``dstc sweep``, ``dstc network``,
``dstc conv``): one CSV line per row and a JSON document, each written atomically."""

import csv
import io
import json
import math

from .verilog import write_atomic

__all__ = ["json_value", "json_record", "write_csv_json"]


def json_value(value):
    """``value`` as JSON writes it: a float that is not finite as its string (``"inf"``,
    ``"nan"``: JSON has no such numbers), anything else unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def json_record(row, columns):
    """The attributes ``columns`` of ``row`` as a dict of JSON values."""
    return {name: json_value(getattr(row, name)) for name in columns}


def write_csv_json(csv_path, json_path, header, lines, document):
    """Write the CSV table ``header`` then ``lines`` (iterables of values; None is written as
    an empty field) to ``csv_path`` and ``document`` (indented JSON) to ``json_path``, each
    atomically (a reader never sees half a file); the parent folders must exist. Returns
    ``(csv_path, json_path)``. Raises ``OSError`` when a file cannot be written."""
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(header)
    writer.writerows(lines)
    write_atomic(csv_path, table.getvalue())
    write_atomic(json_path, json.dumps(document, indent=2) + "\n")
    return (csv_path, json_path)
