"""Readers for the published PET oracles (../shared/testdata/pet): IBSI DROs, cornerstone header extracts,
the synthetic 89Zr series. Data are unpacked into pytest temporary directories, never copied into the
repository."""

from __future__ import annotations

import gzip
import json
import struct
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

_RADIOPHARMACEUTICAL_KEYWORDS = {
    "RadionuclideTotalDose",
    "RadionuclideHalfLife",
    "RadiopharmaceuticalStartTime",
    "RadiopharmaceuticalStartDateTime",
}


def unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive, "r:xz") as tar:
        tar.extractall(into, filter="data")
    return into


def read_series(folder: Path) -> list[Dataset]:
    return [pydicom.dcmread(path) for path in sorted(folder.glob("*.dcm"))]


def read_nifti_mask(path: Path) -> np.ndarray:
    """A NIfTI-1 mask as a [z, y, x] array (header fields per the NIfTI-1 standard, little-endian)."""
    raw = gzip.decompress(path.read_bytes())
    dims = struct.unpack("<8h", raw[40:56])
    datatype = struct.unpack("<h", raw[70:72])[0]
    offset = int(struct.unpack("<f", raw[108:112])[0])
    dtype = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64, 512: np.uint16}[datatype]
    count = dims[1] * dims[2] * dims[3]
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return data.reshape(dims[3], dims[2], dims[1])


def _element(keyword: str, value: Any) -> dict[str, Any]:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    vr = dictionary_VR(tag)
    values = value if isinstance(value, list) else [value]
    if vr in ("DS", "FD"):
        values = [float(v) for v in values]
    elif vr == "IS":
        values = [int(v) for v in values]
    else:
        values = [str(v).strip() for v in values]
    return {"vr": vr, "Value": values}


def cornerstone_dataset(instance: dict[str, Any]) -> Dataset:
    """A DICOM JSON object built from one cornerstone keyword extract, read with ``Dataset.from_json``.

    Philips private values go to (7053,1000)/(7053,1009) under their private creator (7053,0010).
    """
    top: dict[str, Any] = {"00080060": {"vr": "CS", "Value": ["PT"]}}
    radiopharmaceutical: dict[str, Any] = {}
    for keyword, value in instance.items():
        if keyword == "PhilipsPETPrivateGroup":
            if value:
                top["70530010"] = {"vr": "LO", "Value": ["Philips PET Private Group"]}
            if "SUVScaleFactor" in value:
                top["70531000"] = {"vr": "DS", "Value": [float(value["SUVScaleFactor"])]}
            if "ActivityConcentrationScaleFactor" in value:
                top["70531009"] = {"vr": "DS", "Value": [float(value["ActivityConcentrationScaleFactor"])]}
            continue
        target = radiopharmaceutical if keyword in _RADIOPHARMACEUTICAL_KEYWORDS else top
        target[f"{tag_for_keyword(keyword):08X}"] = _element(keyword, value)
    top["00540016"] = {"vr": "SQ", "Value": [radiopharmaceutical]}
    return Dataset.from_json(top)


def cornerstone_series(folder: Path) -> dict[str, list[Dataset]]:
    return {
        path.name.removesuffix("-instances.json"): [
            cornerstone_dataset(i) for i in json.loads(path.read_text())
        ]
        for path in sorted(folder.glob("*-instances.json"))
    }
