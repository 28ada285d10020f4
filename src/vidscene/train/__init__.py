"""Training: synthetic videos with known transitions (:mod:`vidscene.train.synth`), datasets
and training loops (:mod:`vidscene.train.shots_data`, :mod:`vidscene.train.shots_train`) and the
``vidscene train`` commands (:mod:`vidscene.train.cli`).

Nothing is imported here on purpose: the CLI mounts ``vidscene.train.cli`` at start-up, and the
composer and PyTorch should load only when a training or a benchmark needs them.
"""
