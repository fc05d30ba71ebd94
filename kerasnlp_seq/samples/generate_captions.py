"""Generate `captions/`, the bundled image-captioning sample (synthetic, seeded).

Small PNG images (32x32) of one coloured shape on a plain dark background,
with two captions each that name the colour, the shape and where it is:
"a red circle on the left" and "there is a red circle on the left". Three
shapes, four colours and four positions make 48 scenes; each is drawn six
times with a jittered size, place and background shade (288 images, about
100 KB in all). A captioner must see colour, shape and position to get the
caption right, so the sample checks both the encoder and the decoder.

`captions/captions.tsv` has the columns `image` (a file name, relative to
the folder) and `caption`, one row per caption.

Run `python -m kerasnlp_seq.samples.generate_captions` to rewrite the
folder; the output is the same on every run.
"""

import os
import random

SIZE = 32
COPIES = 6
SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60),
           "blue": (50, 90, 230), "yellow": (230, 210, 40)}
# Where the shape's centre goes (x range, y range) and how it is said.
POSITIONS = {
    "left": ((7, 10), (12, 20), "on the left"),
    "right": ((22, 25), (12, 20), "on the right"),
    "top": ((12, 20), (7, 10), "at the top"),
    "bottom": ((12, 20), (22, 25), "at the bottom"),
}


def draw(shape, colour, position, rng):
    """One image (a PIL image) of `shape` in `colour` at `position`."""
    from PIL import Image, ImageDraw

    shade = rng.randint(10, 60)
    image = Image.new("RGB", (SIZE, SIZE), (shade, shade, shade))
    pen = ImageDraw.Draw(image)
    (x0, x1), (y0, y1), _ = POSITIONS[position]
    x, y, r = rng.randint(x0, x1), rng.randint(y0, y1), rng.randint(4, 6)
    fill = tuple(min(255, max(0, c + rng.randint(-20, 20)))
                 for c in COLOURS[colour])
    if shape == "circle":
        pen.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    elif shape == "square":
        pen.rectangle([x - r, y - r, x + r, y + r], fill=fill)
    else:
        pen.polygon([(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)],
                    fill=fill)
    return image


def captions(shape, colour, position):
    """The two reference captions of a scene."""
    where = POSITIONS[position][2]
    return [f"a {colour} {shape} {where}",
            f"there is a {colour} {shape} {where}"]


def generate(folder, seed=0):
    """Write the PNG files and `captions.tsv` into `folder`."""
    rng = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    scenes = [(s, c, p) for s in SHAPES for c in COLOURS for p in POSITIONS]
    rows = []
    for copy in range(COPIES):
        for index, scene in enumerate(scenes):
            name = f"{scene[0]}_{scene[1]}_{scene[2]}_{copy}.png"
            draw(*scene, rng).save(os.path.join(folder, name),
                                   optimize=True)
            rows.extend((name, text) for text in captions(*scene))
    with open(os.path.join(folder, "captions.tsv"), "w",
              encoding="utf-8") as f:
        f.write("image\tcaption\n")
        f.writelines(f"{name}\t{text}\n" for name, text in rows)
    return len(rows) // 2


if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "captions")
    print(f"{generate(here)} images written to {here}")
