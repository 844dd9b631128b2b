"""A coronal maximum-intensity projection (MIP) of an SUV volume as PNG bytes, with lesions marked.

The evidence view that cards link to: inverted grey scale (dark = high uptake, the usual PET MIP display) from
SUV 0 to the window's upper value, anatomical aspect ratio from the voxel spacing, head at the top (+z of the
DICOM patient system is superior), one circle per lesion at its SUVmax voxel (red: reader-avid; blue: reader
non-avid; orange: not assessed or automated candidate), a 5 cm scale bar and a grey bar labelled with SUVbw
values. Pure: returns bytes, writes no file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from connectors.pet.types import PetVolume
from rules.domain import ReaderCall

_COLOURS = {
    ReaderCall.AVID: (220, 30, 30),
    ReaderCall.NON_AVID: (30, 90, 220),
    ReaderCall.NOT_ASSESSED: (240, 140, 0),
}
_BAR_WIDTH = 18
_MARGIN = 70


@dataclass(frozen=True, slots=True, kw_only=True)
class LesionMark:
    """Where to mark a lesion: its SUVmax voxel index (z, y, x), label and reader call."""

    label: str
    index: tuple[int, int, int]
    call: ReaderCall = ReaderCall.NOT_ASSESSED


def _window(volume: PetVolume, suv_window: float | None) -> float:
    if suv_window is not None and suv_window > 0:
        return suv_window
    body = volume.suv[volume.suv > 0]
    return max(float(np.percentile(body, 99.9)) if body.size else 1.0, 1.0)


def mip_png(
    volume: PetVolume, marks: Sequence[LesionMark] = (), *, suv_window: float | None = None, zoom: float = 3.0
) -> bytes:
    """PNG bytes of the coronal MIP (projection along the anterior–posterior array axis y)."""
    upper = _window(volume, suv_window)
    mip = volume.suv.max(axis=1)[::-1, :]  # rows: superior first; columns: x
    grey = (255.0 * (1.0 - np.clip(mip / upper, 0.0, 1.0))).astype(np.uint8)
    dz, _, dx = volume.spacing_mm
    px_per_mm = zoom / dx
    width = max(round(mip.shape[1] * dx * px_per_mm), 1)
    height = max(round(mip.shape[0] * dz * px_per_mm), 1)
    image = Image.fromarray(grey, mode="L").resize((width, height), Image.Resampling.BILINEAR).convert("RGB")
    canvas = Image.new("RGB", (width + _MARGIN, height + 40), (255, 255, 255))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    depth = volume.suv.shape[0]
    for mark in marks:
        z, _, x = mark.index
        cx, cy = (x + 0.5) * dx * px_per_mm, (depth - z - 0.5) * dz * px_per_mm
        radius = 12
        colour = _COLOURS[mark.call]
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour, width=2)
        draw.text((cx + radius + 2, cy - radius), mark.label, fill=colour, font=font)
    _scale_bar(draw, height, px_per_mm, font)
    _grey_bar(draw, width, height, upper, font)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def _scale_bar(
    draw: ImageDraw.ImageDraw,
    height: int,
    px_per_mm: float,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> None:
    length = 50.0 * px_per_mm
    y = height + 20
    draw.line((10, y, 10 + length, y), fill=(0, 0, 0), width=3)
    draw.text((10, y + 4), "5 cm", fill=(0, 0, 0), font=font)


def _grey_bar(
    draw: ImageDraw.ImageDraw,
    width: int,
    height: int,
    upper: float,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> None:
    left = width + 8
    for row in range(height):
        level = int(255 * row / max(height - 1, 1))  # top: dark = upper SUV
        draw.line((left, row, left + _BAR_WIDTH, row), fill=(level, level, level))
    draw.rectangle((left, 0, left + _BAR_WIDTH, height - 1), outline=(0, 0, 0))
    for fraction in (0.0, 0.5, 1.0):
        row = int((1.0 - fraction) * (height - 1))
        draw.text(
            (left + _BAR_WIDTH + 3, max(row - 5, 0)), f"{fraction * upper:.1f}", fill=(0, 0, 0), font=font
        )
    draw.text((left, height + 4), "SUVbw", fill=(0, 0, 0), font=font)
