"""save_figure: a figure with a layout engine is saved at its canvas size in one pass; one without is cropped (and
grown) to its content by bbox_inches="tight"."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from lindae.derivations.files import save_figure  # noqa: E402


def _saved_size(tmp_path, engine):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    fig.text(1.05, 0.5, "a label right of the canvas")        # tight cropping must grow the image to keep it
    if engine:
        fig.set_layout_engine("tight")
    path = save_figure(fig, tmp_path / f"{engine}.png", dpi=100)
    plt.close(fig)
    return Image.open(path).size


def test_a_figure_with_a_layout_engine_keeps_its_canvas(tmp_path):
    assert _saved_size(tmp_path, True) == (400, 300)


def test_a_figure_without_one_is_cropped_to_its_content(tmp_path):
    width, height = _saved_size(tmp_path, False)
    assert width > 400 and height < 300
