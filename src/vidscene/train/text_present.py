"""The ``text_present`` attribute's network and training material, for ``vidscene prune-train``.

The worked example of "your own method, your own model": a small vision transformer that
says whether a frame shows text, on the ~224 px analysis copy every sampled frame already has,
so it costs about a millisecond where reading text costs tens. It is taught from frames of the
development clips:

- positives: frames with text rendered over them (random words, one to three lines, fonts,
  sizes, places, colours, outlines, boxes behind: titles, captions, lower thirds), and clip
  frames on which the OCR detector (the ``text`` attribute) reads text of its own: the part
  distilled from the detector it stands in for;
- negatives: the other clip frames.

Whole clips are held out for validation (:data:`HELD_OUT`), never frames of a clip seen in
training. The fonts used here are not the ones the attribute benchmark renders with.

Train and store it (the exact command the shipped weights came from is in their card)::

    vidscene prune-train --model vidscene.train.text_present:build \\
        --data vidscene.train.text_present:dataset --epochs 8 \\
        --out text-present.safetensors --name text-present
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["HELD_OUT", "INPUT_SIZE", "TextPresentNet", "build", "dataset", "prepare"]

INPUT_SIZE = (224, 128)
"""Width × height the network reads (the analysis copy, resized)."""
HELD_OUT = ("short_hamilton_clip.mp4", "Megamind.avi", "cockatoo.mp4", "box.mp4",
            "psychopy_jwpIntro.mp4")
FONTS = ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf",
         "dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSansMono-Bold.ttf",
         "dejavu/DejaVuSerifCondensed.ttf", "dejavu/DejaVuSerifCondensed-Italic.ttf",
         "liberation/LiberationSans-Bold.ttf", "liberation/LiberationMono-Bold.ttf")
_MEAN = torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1)
_STD = torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1)


class TextPresentNet(nn.Module):
    """A convolutional stem (four stride-2 layers: strokes and their spacing are a texture
    of a few pixels, which a 16 px patch embedding blurs) into 14×8 tokens, two transformer
    blocks, a logit from the mean and the max token (text may fill a small corner)."""

    def __init__(self, dim: int = 64, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        w, h = INPUT_SIZE
        widths = (3, 24, 32, 48, dim)
        layers: list[nn.Module] = []
        for a, b in zip(widths, widths[1:], strict=False):
            layers += [nn.Conv2d(a, b, kernel_size=3, stride=2, padding=1), nn.BatchNorm2d(b),
                       nn.ReLU(inplace=True)]
        self.stem = nn.Sequential(*layers)
        self.position = nn.Parameter(torch.zeros(1, (w // 16) * (h // 16), dim))
        block = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(2 * dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: N×3×128×224 floats in 0..1 → N logits."""
        tokens = self.stem((x - _MEAN) / _STD).flatten(2).transpose(1, 2) + self.position
        tokens = self.norm(self.blocks(tokens))
        pooled = torch.cat([tokens.mean(dim=1), tokens.amax(dim=1)], dim=1)
        return self.head(pooled).squeeze(-1)


def build() -> TextPresentNet:
    """The untrained network (``--model``)."""
    return TextPresentNet()


def prepare(rgb: np.ndarray) -> torch.Tensor:
    """An RGB frame (any size) as the network's input, 1×3×128×224."""
    from PIL import Image

    img = Image.fromarray(rgb).resize(INPUT_SIZE, Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(img, np.float32) / 255.0).permute(2, 0, 1)[None]


# -- training material ---------------------------------------------------------------------------
def _pool(clips: Path, names: list[str], per_second: float = 1.0) -> list[np.ndarray]:
    """Frames of the clips at 480 px wide, ``per_second`` of them per second of video."""
    import av

    frames = []
    for name in names:
        next_t = 0.0
        with av.open(str(clips / name)) as container:
            for frame in container.decode(video=0):
                t = frame.time or 0.0
                if t + 1e-6 < next_t:
                    continue
                next_t = t + 1.0 / per_second
                img = frame.to_image()
                img = img.resize((480, max(2, round(480 * img.height / img.width))))
                frames.append(np.asarray(img.convert("RGB")))
    return frames


def _words(rng: np.random.Generator) -> str:
    alphabet = string.ascii_letters + string.digits + "  .,:-'"
    return " ".join("".join(rng.choice(list(alphabet), int(rng.integers(2, 10))))
                    for _ in range(int(rng.integers(1, 5)))).strip() or "TEXT"


def _render(rgb: np.ndarray, rng: np.random.Generator, fonts: list[str]) -> np.ndarray:
    """``rgb`` with one to three lines of text drawn on it (see the module doc)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(rgb).convert("RGB")
    draw = ImageDraw.Draw(img)
    w, h = img.size
    lines = int(rng.integers(1, 4))
    size = int(rng.integers(14, 64))
    path = fonts[int(rng.integers(0, len(fonts)))] if fonts else None
    font = ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)
    y = int(rng.integers(0, max(1, int(h - lines * size * 1.2))))
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    for _ in range(lines):
        text = _words(rng)
        box = draw.textbbox((0, 0), text, font=font)
        x = int(rng.integers(0, max(1, int(w - (box[2] - box[0])))))
        if rng.random() < 0.3:  # a caption box behind the text
            shade = tuple(int(v) for v in rng.integers(0, 256, 3))
            draw.rectangle((x - 4, y - 2, x + box[2] - box[0] + 4, y + box[3] + 4), fill=shade)
        stroke = int(rng.integers(0, 3))
        draw.text((x, y), text, font=font, fill=colour, stroke_width=stroke,
                  stroke_fill=tuple(255 - c for c in colour))
        y += int(size * 1.2)
    return np.asarray(img)


def _ocr_has_text(rgb: np.ndarray) -> bool:
    from vidscene.attributes._text import read_text

    return bool(read_text(rgb)["lines"])


def make_material(clips: Path, n: int, names: list[str], seed: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """``n`` inputs (uint8, N×128×224×3) and labels from the named clips."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    fonts = [str(Path("/usr/share/fonts/truetype") / f) for f in FONTS
             if (Path("/usr/share/fonts/truetype") / f).is_file()]
    pool = _pool(clips, names, per_second=2.0)
    own_text = [_ocr_has_text(frame) for frame in pool]
    x = np.empty((n, INPUT_SIZE[1], INPUT_SIZE[0], 3), np.uint8)
    y = np.empty(n, np.float32)
    for i in range(n):
        k = int(rng.integers(0, len(pool)))
        frame = pool[k]
        if rng.random() < 0.5 and not own_text[k]:  # another framing (may cut own text off)
            h, w = frame.shape[:2]
            scale = rng.uniform(0.6, 1.0)
            ch, cw = int(h * scale), int(w * scale)
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            frame = np.asarray(Image.fromarray(frame[y0:y0 + ch, x0:x0 + cw]).resize((w, h)))
        if rng.random() < 0.5:
            frame = frame[:, ::-1]
        if rng.random() < 0.3:  # colour and brightness changes
            frame = np.clip(frame.astype(np.float32) * rng.uniform(0.5, 1.4, 3), 0,
                            255).astype(np.uint8)
        rendered = rng.random() < 0.5
        if rendered:
            frame = _render(frame, rng, fonts)
        x[i] = np.asarray(Image.fromarray(frame).resize(INPUT_SIZE, Image.Resampling.BOX))
        y[i] = 1.0 if rendered or own_text[k] else 0.0
    return x, y


def _material(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The cached training or validation material (built once, into the cache folder)."""
    import platformdirs

    from vidscene.train.synth import find_clips_dir

    clips = find_clips_dir()
    if clips is None:
        from vidscene.errors import ConfigError

        raise ConfigError("the development clips are needed (set VIDSCENE_CLIPS)")
    n = int(os.environ.get("VIDSCENE_TEXT_PRESENT_N", "4000"))
    cache = Path(platformdirs.user_cache_dir("vidscene")) / "text-present"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{split}-{n}-v2.npz"
    if not path.is_file():
        every = sorted(p.name for p in clips.iterdir() if p.suffix in (".mp4", ".avi", ".mkv",
                                                                        ".mpg"))
        names = ([c for c in every if c not in HELD_OUT] if split == "train"
                 else [c for c in every if c in HELD_OUT])
        x, y = make_material(clips, n if split == "train" else n // 5, names,
                             seed=0 if split == "train" else 1)
        np.savez_compressed(path, x=x, y=y)
    data = np.load(path)
    return data["x"], data["y"]


def _batches(x: np.ndarray, y: np.ndarray, epoch: int, size: int = 64
             ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    order = np.random.default_rng(epoch).permutation(len(x))
    for a in range(0, len(order), size):
        idx = order[a:a + size]
        yield (torch.from_numpy(x[idx].astype(np.float32) / 255.0).permute(0, 3, 1, 2),
               torch.from_numpy(y[idx]))


def _loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]
          ) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch[0])
    return nn.functional.binary_cross_entropy_with_logits(logits, batch[1]), logits


def dataset() -> Any:
    """The training task (``--data``): material, loss and validation accuracy."""
    from vidscene.prune import PruneTask

    x, y = _material("train")
    vx, vy = _material("valid")

    def validate(model: nn.Module) -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(b[0]) for b in _batches(vx, vy, 0, 256)])
        order = np.random.default_rng(0).permutation(len(vx))
        truth = torch.from_numpy(vy[order])
        model.train()
        return {"accuracy": float(((logits > 0).float() == truth).float().mean())}

    return PruneTask(batches=lambda epoch: _batches(x, y, epoch), loss_fn=_loss,
                     validate=validate, lr=2e-3,
                     extra={"material": {"train": len(x), "valid": len(vx),
                                         "held_out": list(HELD_OUT)}})
