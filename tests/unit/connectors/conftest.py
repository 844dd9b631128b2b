"""Session fixtures unpacking the published PET oracles into temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.connectors.pet.oracles import unpack


@pytest.fixture(scope="session")
def dro_root(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The IBSI/OncoRay SUV DROs unpacked (``DRO/DRO_x_y/{PT,mask}``)."""
    into = tmp_path_factory.mktemp("ibsi-dro")
    return unpack(testdata / "pet" / "ibsi-suv-dro" / "ibsi_suv_dro.tar.xz", into) / "DRO"


@pytest.fixture(scope="session")
def synthetic_89zr(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic 89Zr-trastuzumab series unpacked (``synth_pet/pt_*.dcm``)."""
    into = tmp_path_factory.mktemp("synthetic-89zr")
    return unpack(testdata / "pet" / "synthetic-89zr" / "synth_pet_89zr.tar.xz", into) / "synth_pet"
