"""Scene segmentation: the ``SceneSegmenter`` interface, its registry and the built-ins.

Built-ins, one private module each, imported here so that they register themselves:
``"transformer"`` (the learned shot-sequence model, ``_transformer.py``, the default),
``"osg"`` (optimal sequential grouping, ``_osg.py``) and ``"stg"`` (scene transition graph,
``_stg.py``). ``_decode.py`` turns a learned segmenter's scene-end probabilities into scenes
with a prior on what a scene is; ``_sound.py`` measures the soundtrack for segmenters that
listen.
"""

from vidscene.scenes import _osg, _stg, _transformer  # noqa: F401  (register the built-ins)
from vidscene.scenes._base import (
    SEGMENTERS,
    KeyframeEmbedder,
    SceneSegmenter,
    create_segmenter,
    scenes_from_bounds,
)
from vidscene.scenes._decode import ScenePrior, decode_scenes
from vidscene.scenes._osg import OSGSegmenter
from vidscene.scenes._sound import SOUND_FEATURES, shot_sound_features, sound_blocks
from vidscene.scenes._stg import STGSegmenter
from vidscene.scenes._transformer import TransformerSegmenter

__all__ = ["SEGMENTERS", "SOUND_FEATURES", "KeyframeEmbedder", "OSGSegmenter", "STGSegmenter",
           "ScenePrior", "SceneSegmenter", "TransformerSegmenter", "create_segmenter",
           "decode_scenes", "scenes_from_bounds", "shot_sound_features", "sound_blocks"]
