"""TFRecord's CRC32C arithmetic in numpy: the masking of stored CRCs, and the CRC of 8-byte lengths."""

from __future__ import annotations

import numpy as np

_MASK_DELTA = 0xA282EAD8


def _crc_table() -> np.ndarray:
    poly = 0x82F63B78  # CRC-32C (Castagnoli), reflected
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(poly), table >> 1).astype(np.uint32)
    return table


_TABLE = _crc_table()


def masked(crc: np.ndarray) -> np.ndarray:
    """TFRecord's CRC masking, vectorised over uint32 arrays."""
    crc = crc.astype(np.uint32)
    rotated = (crc >> np.uint32(15)) | (crc << np.uint32(17))
    return (rotated + np.uint32(_MASK_DELTA)).astype(np.uint32)


def unmasked(stored: np.ndarray) -> np.ndarray:
    """The CRC32C values behind TFRecord's masked CRCs (inverse of `masked`)."""
    x = (stored.astype(np.uint32) - np.uint32(_MASK_DELTA)).astype(np.uint32)
    return ((x << np.uint32(15)) | (x >> np.uint32(17))).astype(np.uint32)


def crc8_at(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """CRC32C of the 8 bytes at each position of `pos` (all positions + 8 <= len(arr))."""
    crc = np.full(len(pos), 0xFFFFFFFF, dtype=np.uint32)
    for k in range(8):
        crc = _TABLE[(crc ^ arr[pos + k]) & 0xFF] ^ (crc >> np.uint32(8))
    return crc ^ np.uint32(0xFFFFFFFF)
