"""Tables to files and back: CSV, Parquet and netCDF, each keeping its metadata.

Every ``--out FILE`` of the command line goes through :func:`write`; :func:`read` gives the
table back (a pandas DataFrame, or an xarray Dataset for a netCDF file written from one) with
the same metadata in ``.attrs``: what the table is (``format``), how it was made, and the
provenance of its inputs. The metadata travel as one JSON text: a first comment line
``# cryoderm: {...}`` in CSV, a schema metadata entry in Parquet, a global attribute in
netCDF (written with h5netcdf). pandas, pyarrow and xarray are imported here, when a file is
written or read, never at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryoderm.research.errors import InvalidStudy

SUFFIXES = (".csv", ".parquet", ".nc")
KEY = "cryoderm"
CSV_PREFIX = f"# {KEY}: "
CSV_INDEX = "csv_index_columns"
NC_RENAMED = "netcdf_renamed_variables"
NC_SLASH = "\u2215"  # DIVISION SLASH, for "/" in netCDF names


def check_path(text: str, option: str = "--out") -> Path:
    """The path of an output file, checked before any work is done."""
    path = Path(text)
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidStudy(option, text, "a file name ending in " + ", ".join(SUFFIXES))
    if not path.parent.is_dir():
        raise InvalidStudy(option, text, "a file in an existing folder")
    return path


def _metadata_text(attrs: dict[str, Any]) -> str:
    return json.dumps(attrs, allow_nan=False, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as metadata")


def write(table: Any, path: Path | str) -> None:
    """Write ``table`` (anything with ``to_dataframe()``, and ``to_xarray()`` for a richer
    netCDF; or a DataFrame / Dataset itself) to ``path`` by its suffix."""
    path = check_path(str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".nc":
            _write_netcdf(_dataset(table), path)
        elif suffix == ".parquet":
            _write_parquet(_frame(table), path)
        else:
            _write_csv(_frame(table), path)
    except OSError as error:
        raise InvalidStudy("--out", str(path), f"cannot be written ({error.strerror})") from None


def _frame(table: Any) -> Any:
    return (
        table.to_dataframe() if hasattr(table, "to_dataframe") and not _is_frame(table) else table
    )


def _is_frame(table: Any) -> bool:
    import pandas as pd

    return isinstance(table, pd.DataFrame)


def _dataset(table: Any) -> Any:
    import xarray as xr

    if isinstance(table, xr.Dataset):
        return table
    if hasattr(table, "to_xarray") and not _is_frame(table):
        return table.to_xarray()
    frame = _frame(table)
    dataset = xr.Dataset.from_dataframe(frame)
    dataset.attrs.update(frame.attrs)
    return dataset


def _write_csv(frame: Any, path: Path) -> None:
    attrs = dict(frame.attrs)
    if _named_index(frame):
        # CSV has no index of its own: its columns are named here, and taken back on reading.
        attrs[CSV_INDEX] = list(frame.index.names)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(CSV_PREFIX + _metadata_text(attrs) + "\n")
        frame.to_csv(handle, index=_named_index(frame))


def _named_index(frame: Any) -> bool:
    return any(name is not None for name in frame.index.names)


def _write_parquet(frame: Any, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = pa.Table.from_pandas(frame, preserve_index=_named_index(frame))
    metadata = {**(data.schema.metadata or {}), KEY.encode(): _metadata_text(dict(frame.attrs))}
    # pandas keeps DataFrame.attrs in its own entry too; one copy (ours) is enough.
    metadata.pop(b"PANDAS_ATTRS", None)
    pq.write_table(data.replace_schema_metadata(metadata), path)


def _write_netcdf(dataset: Any, path: Path) -> None:
    # HDF5 reserves "/" in names: such names are written with a stand-in, and restored on
    # reading from the map kept in the metadata.
    renamed = {str(n).replace("/", NC_SLASH): str(n) for n in dataset.variables if "/" in str(n)}
    out = dataset.rename({original: safe for safe, original in renamed.items()})
    attrs = dict(dataset.attrs)
    if renamed:
        attrs[NC_RENAMED] = renamed
    out.attrs = {KEY: _metadata_text(attrs)}
    for name in out.variables:
        out[name].attrs = {
            k: v if isinstance(v, str | int | float) else json.dumps(v)
            for k, v in out[name].attrs.items()
        }
    out.to_netcdf(path, engine="h5netcdf")


def read(path: Path | str) -> Any:
    """A file written by :func:`write`: a DataFrame (CSV, Parquet) or a Dataset (netCDF),
    with its metadata in ``.attrs``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path, engine="h5netcdf") as opened:
            dataset = opened.load()
        attrs = json.loads(dataset.attrs.get(KEY, "{}"))
        dataset = dataset.rename(attrs.pop(NC_RENAMED, {}))
        dataset.attrs = attrs
        return dataset
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        data = pq.read_table(path)
        frame = data.to_pandas()
        frame.attrs = json.loads((data.schema.metadata or {}).get(KEY.encode(), b"{}"))
        return frame
    import pandas as pd

    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
        attrs = json.loads(first[len(CSV_PREFIX) :]) if first.startswith(CSV_PREFIX) else {}
        if not first.startswith(CSV_PREFIX):
            handle.seek(0)
        frame = pd.read_csv(handle)
    index = attrs.pop(CSV_INDEX, None)
    if index and all(name in frame.columns for name in index):
        frame = frame.set_index(index)
    frame.attrs = attrs
    return frame


def case_provenance(case: Any) -> dict[str, Any]:
    """What an output records of its inputs: the cryoderm version, the resolved case file
    (every default filled in) and its SHA-256 (cryoderm.physics.provenance)."""
    from cryoderm.physics.provenance import provenance

    return dict(provenance(case).to_attrs())


def write_result(result: Any, case: Any, path: Path | str) -> None:
    """One simulation's result to ``path`` (series; the full field too in netCDF), its
    metadata completed with the provenance of ``case``."""
    path = Path(path)
    table = result.to_xarray() if path.suffix.lower() == ".nc" else result.to_dataframe()
    table.attrs.update(case_provenance(case))
    write(table, path)
