"""Photos as they are kept: decoded and encoded again by Pillow in their own format, with EXIF, XMP,
comments and every other metadata left behind (GPS included; the orientation is applied to the
pixels first), and a JPEG thumbnail. Blocking: run it in a worker thread."""

from __future__ import annotations

import io
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from shared.errors import BadInput

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def reencode(source: IO[bytes], mime: str, out: IO[bytes], max_pixels: int, thumb_px: int) -> bytes:
    """Write `source` (a photo of type `mime`) to `out` without its metadata; return the thumbnail's
    JPEG bytes. BAD_INPUT for bytes that do not decode as that type, or an image over `max_pixels`."""
    fmt = FORMATS[mime]
    try:
        with Image.open(source, formats=[fmt]) as im:
            width, height = im.size
            if width * height > max_pixels:
                message = f"the image is {width}×{height}; at most {max_pixels} pixels are accepted"
                raise BadInput(message, {"maxPixels": max_pixels})
            im.load()
            icc = im.info.get("icc_profile")
            upright = ImageOps.exif_transpose(im)
            options: dict = {"icc_profile": icc} if icc else {}
            if fmt == "JPEG":
                picture = upright if upright.mode in ("RGB", "L", "CMYK") else upright.convert("RGB")
                picture.save(out, "JPEG", quality=90, **options)
            elif fmt == "PNG":
                upright.save(out, "PNG", optimize=False, **options)
            else:
                upright.save(out, "WEBP", quality=90, **options)
            thumb = upright.convert("RGB")
            thumb.thumbnail((thumb_px, thumb_px))
            buf = io.BytesIO()
            thumb.save(buf, "JPEG", quality=80)
            return buf.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise BadInput(f"the file is not a valid {fmt} image ({type(e).__name__})") from None
