"""The embedded default data: 10 CC0 dermoscopy images from the ISIC Archive (UDA-1), in the ISIC 2019 layout.

6 nevus (NV) and 4 melanoma (MEL) images, 400x300 px JPEG, with their rows of the official ISIC 2019 ground-truth
CSV. Licence: CC0 1.0 (``isic/LICENSE.txt``, ``isic/ATTRIBUTION.txt``). They let every command run on a fresh
machine with no data of the user's.
"""
from __future__ import annotations

from pathlib import Path

ISIC_SAMPLE_DIR = Path(__file__).resolve().parent / "isic"
#: The sample's ground truth, official ISIC 2019 layout (image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK).
ISIC_SAMPLE_CSV = ISIC_SAMPLE_DIR / "ISIC_2019_Training_GroundTruth.csv"
#: The sample's image folder (``ISIC_XXXXXXX.jpg``).
ISIC_SAMPLE_IMAGES = ISIC_SAMPLE_DIR / "images"
