"""TextToMusic: a trained model folder -> captions in, audio out (model + codec + text encoder).

`text_to_music` holds the class, `checks` what it refuses before any work, `inpaint` the
geometry of filling a range of a clip.
"""

from maskgmt.pipeline.checks import MAX_SECONDS, GenerationCancelled
from maskgmt.pipeline.inpaint import SPLICE_SECONDS
from maskgmt.pipeline.text_to_music import GenerationTimings, TextToMusic

__all__ = [
    "MAX_SECONDS",
    "SPLICE_SECONDS",
    "GenerationCancelled",
    "GenerationTimings",
    "TextToMusic",
]
