"""``vidscene train …``: build training data and train vidscene's models from the command line.

A Typer sub-app (``train_app``) that the main CLI mounts as ``vidscene train``. PyTorch and the
training modules are imported inside the commands, so ``vidscene --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vidscene.errors import VidsceneError

__all__ = ["train_app"]

train_app = typer.Typer(
    name="train",
    help="Train vidscene's models on synthetic videos composed from real footage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True)

DEFAULT_VIDEOS = 800
DEFAULT_EPOCHS = 30
DEFAULT_OUT = Path("models/shot-transformer.safetensors")


def _default_data_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("vidscene")) / "train-shots"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return w, h


PruneOpt = Annotated[str | None, typer.Option(
    "--prune", metavar="METHOD", help="Prune the transformer before training and train it with "
    "the mask fixed: attention-snip (connection sensitivity with attention and output terms), "
    "snip, random, or magnitude (only with --init-weights: prune a trained model, then "
    "fine-tune). See 'vidscene prune-train --help'.", show_default=False)]
PatternOpt = Annotated[str, typer.Option(
    "--pattern", help="N:M mask of --prune (2:4 runs on sparse tensor cores; files store it "
    "packed, ~53 % of dense).")]
FfKeepOpt = Annotated[float | None, typer.Option(
    "--ff-keep", min=0.01, max=1.0, help="Structured pruning instead of an N:M mask, "
    "keeping this share of every feed-forward block's channels (a smaller dense model "
    "that needs no sparse kernels; on vidscene's models the feed-forward blocks are a small "
    "part of the time, so 0.5 gives about 1.05x CPU speed).",
    show_default=False)]
OwnInitOpt = Annotated[bool, typer.Option(
    "--own-init", help="Score and train from the model's own initialisation instead of the "
    "method's Xavier re-initialisation (N:M and channel masks never compare scores across "
    "layers; on the shot model Xavier costs accuracy: BENCHMARKS.md, Pruning).")]


def _pruning(method: str | None, pattern: str, ff_keep: float | None,
             init_weights: Path | None = None, own_init: bool = False) -> object | None:
    """The ``PruneSpec`` of the --prune options (``None`` without --prune)."""
    from vidscene.errors import ConfigError

    if method is None:
        if ff_keep is not None:
            raise ConfigError("--ff-keep needs --prune METHOD (how channels are ranked)")
        return None
    if method == "magnitude" and init_weights is None:
        raise ConfigError("--prune magnitude ranks trained weights: give --init-weights")
    from vidscene.prune import PruneSpec  # imports torch: only now

    return PruneSpec(method=method, pattern=None if ff_keep is not None else pattern,
                     ff_keep=ff_keep, reinit=method != "magnitude" and not own_init)


def _prune_flags(method: str | None, pattern: str, ff_keep: float | None,
                 own_init: bool = False) -> str:
    if method is None:
        return ""
    return (f" --prune {method}" + (f" --ff-keep {ff_keep}" if ff_keep is not None
                                    else f" --pattern {pattern}")
            + (" --own-init" if own_init else ""))


SHOTS_HELP = (
    "Train the learned shot detector (--detector transformer).\n\n"
    "Composes VIDEOS synthetic videos from the single-shot dev clips (whole clips held out for "
    "validation), caches them as tiny frames with per-frame targets, then trains the "
    "shot-transformer and keeps the epoch with the best validation F1 (mean of cut and "
    "gradual).\n\n"
    "The defaults fit about 2 hours on 2 CPU cores (estimated from step times measured on this "
    "project's 2-core machines): composing 800 videos of ~800 frames takes ~40 min (~3 s each; "
    "once, the cache is reused), and 30 epochs of ~365 steps take ~65 min (~0.35 s per step of "
    "16 windows x 96 frames with 2 threads on idle cores, ~0.5 s with 1 thread; far slower when "
    "other work shares the CPUs). Scale --videos and --epochs from there; --resume continues "
    "an interrupted training from its last finished epoch."
)
"""One line per paragraph: the help re-flows to the terminal's width."""


@train_app.command("shots", help=SHOTS_HELP)
def shots_cmd(
    videos: Annotated[int, typer.Option(
        "--videos", min=2, help="Synthetic videos to compose (1 in 8 become validation).")
    ] = DEFAULT_VIDEOS,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the data.")
                      ] = DEFAULT_EPOCHS,
    out: Annotated[Path, typer.Option(
        "--out", help="Weights to write (safetensors); the Markdown card goes beside it and "
        "the resumable checkpoint to OUT.ckpt.")] = DEFAULT_OUT,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Cache of composed videos (reused, so an interrupted build "
        "resumes). Default: the user cache directory.", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of data and training.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT.ckpt.")] = False,
    threads: Annotated[int, typer.Option("--threads", min=1, help="CPU threads for PyTorch.")
                       ] = 2,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=0, help="Processes composing videos in parallel (the videos do not "
        "depend on it); 0 means one per CPU core.")] = 0,
    clips: Annotated[Path | None, typer.Option(
        "--clips", help="Development clips folder (default: $VIDSCENE_CLIPS or "
        "../shared/data/clips; without one, procedural content only).", show_default=False,
    )] = None,
    size: Annotated[str, typer.Option("--size", help="Base frame size of the composed videos, "
                                      "WIDTHxHEIGHT (each video varies around it).")
                    ] = "160x90",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Windows per step.")
                          ] = 16,
    init_weights: Annotated[Path | None, typer.Option(
        "--init-weights", help="Start from this shot model (fine-tuning) instead of a fresh "
        "one.", show_default=False)] = None,
    mixture: Annotated[bool, typer.Option(
        "--mixture/--no-mixture", help="Also give the model the two-sided either-or and blend "
        "residuals per step (meant to tell wipes and dissolves from camera drift). Off by "
        "default: the shipped v2 architecture. A v2 fine-tuned with them scored worse on the "
        "held-out benchmark sets (see the v2 model card).")] = False,
    prune: PruneOpt = None,
    pattern: PatternOpt = "2:4",
    ff_keep: FfKeepOpt = None,
    own_init: OwnInitOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train the learned shot detector (help text: ``SHOTS_HELP``)."""
    try:
        w, h = _size(size)
        _train_shots(videos=videos, epochs=epochs, out=out,
                     data_dir=data_dir or _default_data_dir(), seed=seed, resume=resume,
                     threads=threads, jobs=jobs or os.cpu_count() or 1, clips=clips,
                     size=(w, h), batch_size=batch_size, quiet=quiet,
                     init_weights=init_weights, prune=(prune, pattern, ff_keep, own_init),
                     mixture=mixture)
    except typer.BadParameter as e:
        _err.print(f"[bold red]error:[/] --size: {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except VidsceneError as e:
        _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _train_shots(*, videos: int, epochs: int, out: Path, data_dir: Path, seed: int, resume: bool,
                 threads: int, jobs: int, clips: Path | None, size: tuple[int, int],
                 batch_size: int, quiet: bool, init_weights: Path | None = None,
                 prune: tuple[str | None, str, float | None, bool] = (None, "2:4", None, False),
                 mixture: bool = False) -> None:
    from vidscene.errors import ConfigError

    if init_weights is not None and not init_weights.is_file():
        raise ConfigError(f"--init-weights: no such file: {init_weights}")
    method, pattern, ff_keep, own_init = prune
    pruning = _pruning(method, pattern, ff_keep, init_weights=init_weights, own_init=own_init)
    from vidscene.train.shots_data import build_dataset
    from vidscene.train.synth import find_clips_dir

    if clips is not None and not clips.is_dir():
        raise ConfigError(f"clips folder not found: {clips}")
    clips_dir = clips or find_clips_dir()
    if clips_dir is None:
        _err.print("no development clips found: composing from procedural content only",
                   highlight=False)
    build_dataset(data_dir, videos=videos, seed=seed, clips_dir=clips_dir, size=size,
                  progress=not quiet, jobs=jobs)

    from vidscene.train.shots_train import train_shots  # imports torch: only now

    command = (f"vidscene train shots --videos {videos} --epochs {epochs} --out {out} "
               f"--data-dir {data_dir} --seed {seed} --threads {threads} --size {size[0]}x"
               f"{size[1]} --batch-size {batch_size}" + (f" --clips {clips}" if clips else "")
               + (f" --init-weights {init_weights}" if init_weights else "")
               + (" --mixture" if mixture else "")
               + _prune_flags(method, pattern, ff_keep, own_init))
    result = train_shots(data_dir=data_dir, out=out, epochs=epochs, batch_size=batch_size,
                         seed=seed, threads=threads, progress=not quiet, resume=resume,
                         command=command, init_weights=init_weights,
                         model_config={"mixture": mixture},
                         pruning=pruning)  # type: ignore[arg-type]
    summary = {k: result[k] for k in ("weights", "card", "best_epoch", "val_f1_cut",
                                      "val_f1_gradual", "seconds")}
    _err.print(json.dumps(summary), highlight=False, soft_wrap=True)


DEFAULT_SCENES_OUT = Path("models/scene-transformer.safetensors")

SCENES_HELP = (
    "Train the learned scene segmenter (--scenes transformer): its keyframe encoder and its "
    "shot-sequence transformer.\n\n"
    "Renders banks of synthetic shots (differently framed and coloured segments of the "
    "single-shot dev clips and of procedural places, whole clips held out for validation), "
    "trains the keyframe encoder contrastively (keyframes of one place are positives), then "
    "the transformer on windows of scenes drawn from the bank (--material mixed: mostly a "
    "film's scene structure, 3-40 shots a scene, cutaways, transitions that hint at scene "
    "changes, and some fast-paced windows of short scenes; similar-looking and returning "
    "places as hard cases), keeping the step with the best "
    "held-out F1; then measures the scene prior on the training material and picks the "
    "decoder's threshold and prior weight on long held-out sequences.\n\n"
    "--init-weights starts from a saved model and keeps its keyframe encoder (v2 was made "
    "from v1 this way); the cross-fitted embeddings are cached with the banks, so a rerun on "
    "the same banks skips the fold encoders. --sound (the default) also trains on "
    "soundtracks planned with the scenes (v3).\n\n"
    "From scratch the defaults take about 40 minutes on 2 CPU cores: the shot banks ~4 min "
    "(cached and reused), three keyframe encoders (two cross-fitting folds and the final "
    "one, 1,500 steps each) ~25 min, the sound beds ~1 min (cached), the transformer (4,000 "
    "steps) ~9 min; with --init-weights the final encoder is not trained (~25 min), and a "
    "rerun on cached banks and embeddings takes ~9 min. More --encoder-steps and --scene-steps "
    "trade time for accuracy."
)


@train_app.command("scenes", help=SCENES_HELP)
def scenes_cmd(
    out: Annotated[Path, typer.Option(
        "--out", help="Weights to write (safetensors); the Markdown card goes beside it.")
    ] = DEFAULT_SCENES_OUT,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Cache of rendered shot banks (reused). Default: the user cache "
        "directory.", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of data and training.")] = 0,
    encoder_steps: Annotated[int, typer.Option(
        "--encoder-steps", min=1, help="Contrastive steps of the keyframe encoder.")] = 1500,
    scene_steps: Annotated[int, typer.Option(
        "--scene-steps", min=1, help="Steps of the shot-sequence transformer.")] = 4000,
    shots_per_clip: Annotated[int, typer.Option(
        "--shots-per-clip", min=2, help="Synthetic shots rendered per dev clip.")] = 160,
    procedural_places: Annotated[int, typer.Option(
        "--procedural-places", min=0, help="Procedural places in the training bank.")] = 300,
    procedural_shots: Annotated[int, typer.Option(
        "--procedural-shots", min=2, help="Synthetic shots rendered per procedural place "
        "(a place's scene holds at most this many shots of it).")] = 12,
    threads: Annotated[int, typer.Option("--threads", min=1, help="CPU threads for PyTorch.")
                       ] = 2,
    clips: Annotated[Path | None, typer.Option(
        "--clips", help="Development clips folder (default: $VIDSCENE_CLIPS or "
        "../shared/data/clips; without one, procedural places only).", show_default=False,
    )] = None,
    prune: PruneOpt = None,
    pattern: PatternOpt = "2:4",
    ff_keep: FfKeepOpt = None,
    own_init: OwnInitOpt = False,
    material: Annotated[str, typer.Option(
        "--material", help="How scenes are drawn from the shot banks: 'film' (a film's scene "
        "structure: 3-40 shots a scene, cutaways, transitions that hint at scene changes), "
        "'mixed' (70 % film, 30 % fast-paced windows of short scenes) or 'short' (the first "
        "model's short scenes, cuts only).")] = "mixed",
    transitions: Annotated[bool, typer.Option(
        "--transitions/--no-transitions", help="Give the model each shot's transition type "
        "and length as inputs.")] = True,
    sound: Annotated[bool, typer.Option(
        "--sound/--no-sound", help="Give the model what the soundtrack does around each shot "
        "(level and spectral change across its cut, likeness to the shots before it), from "
        "soundtracks planned with the scenes: the clips' own audio and procedural beds (room "
        "tone, traffic, two voices by espeak-ng, music, quiet). A fifth of the windows have "
        "none, so the model also reads silent videos.")] = True,
    sound_beds: Annotated[int, typer.Option(
        "--sound-beds", min=1, help="Procedural sound beds for the training places (a third "
        "as many, with other voices, for the held-out ones); with --sound.")] = 120,
    init_weights: Annotated[Path | None, typer.Option(
        "--init-weights", help="Start from a saved scene model: its keyframe encoder is kept "
        "as it is and only the shot-sequence model trains (new inputs start at zero weight).",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Train the learned scene segmenter (help text: ``SCENES_HELP``)."""
    try:
        from vidscene.errors import ConfigError
        from vidscene.train.synth import find_clips_dir

        if clips is not None and not clips.is_dir():
            raise ConfigError(f"clips folder not found: {clips}")
        pruning = _pruning(prune, pattern, ff_keep, own_init=own_init)
        clips_dir = clips or find_clips_dir()
        if clips_dir is None:
            _err.print("no development clips found: procedural places only", highlight=False)
        from platformdirs import user_cache_dir

        from vidscene.train.scenes_train import SceneTrainConfig, train_scenes

        cache = data_dir or Path(user_cache_dir("vidscene")) / "train-scenes"
        from vidscene.train.scenes_train import MATERIALS

        if material not in MATERIALS:
            raise ConfigError(f"unknown --material {material!r} (known: "
                              f"{', '.join(MATERIALS)})")
        if init_weights is not None and not init_weights.is_file():
            raise ConfigError(f"--init-weights: no such file: {init_weights}")
        cfg = SceneTrainConfig(seed=seed, encoder_steps=encoder_steps, scene_steps=scene_steps,
                               shots_per_clip=shots_per_clip,
                               procedural_places=procedural_places,
                               procedural_shots=procedural_shots, material=material,
                               sound_beds=sound_beds, val_sound_beds=max(1, sound_beds // 3))
        command = (f"vidscene train scenes --out {out} --seed {seed} --encoder-steps "
                   f"{encoder_steps} --scene-steps {scene_steps} --shots-per-clip "
                   f"{shots_per_clip} --procedural-places {procedural_places} "
                   f"--procedural-shots {procedural_shots} --threads {threads} "
                   f"--material {material}"
                   + ("" if transitions else " --no-transitions")
                   + (f" --sound-beds {sound_beds}" if sound else " --no-sound")
                   + (f" --init-weights {init_weights}" if init_weights else "")
                   + (f" --clips {clips}" if clips else "")
                   + _prune_flags(prune, pattern, ff_keep, own_init))
        result = train_scenes(out=out, data_dir=cache, clips_dir=clips_dir, cfg=cfg,
                              threads=threads, progress=not quiet, command=command,
                              pruning=pruning,  # type: ignore[arg-type]
                              model_config={"transitions": transitions, "sound": sound},
                              init_weights=init_weights,
                              log=lambda m: _err.print(m, highlight=False, soft_wrap=True))
    except VidsceneError as e:
        _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    _err.print(json.dumps({k: result[k] for k in ("weights", "card", "best", "seconds")}),
               highlight=False, soft_wrap=True)
