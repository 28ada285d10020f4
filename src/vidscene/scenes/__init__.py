"""Scene segmentation: the ``SceneSegmenter`` interface, its registry and the built-ins.

Built-in: ``"osg"`` (optimal sequential grouping). The scene-transition-graph (``"stg"``) and
learned shot-sequence (``"transformer"``) segmenters will live beside it as ``_stg.py`` and
``_transformer.py``, imported here so that they register themselves.
"""

from vidscene.scenes import _osg  # noqa: F401  (registers "osg")
from vidscene.scenes._base import SEGMENTERS, SceneSegmenter, create_segmenter, scenes_from_bounds
from vidscene.scenes._osg import OSGSegmenter

__all__ = ["SEGMENTERS", "OSGSegmenter", "SceneSegmenter", "create_segmenter",
           "scenes_from_bounds"]
