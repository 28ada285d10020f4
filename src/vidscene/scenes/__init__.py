"""Scene segmentation: the ``SceneSegmenter`` interface, its registry and the built-ins.

Built-ins, one private module each, imported here so that they register themselves:
``"osg"`` (optimal sequential grouping, ``_osg.py``) and ``"stg"`` (scene transition graph,
``_stg.py``). The learned shot-sequence segmenter (``"transformer"``) will join them.
"""

from vidscene.scenes import _osg, _stg  # noqa: F401  (register "osg", "stg")
from vidscene.scenes._base import SEGMENTERS, SceneSegmenter, create_segmenter, scenes_from_bounds
from vidscene.scenes._osg import OSGSegmenter
from vidscene.scenes._stg import STGSegmenter

__all__ = ["SEGMENTERS", "OSGSegmenter", "STGSegmenter", "SceneSegmenter", "create_segmenter",
           "scenes_from_bounds"]
