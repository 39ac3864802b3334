"""save_figure: a figure with a layout engine whose content fits its canvas is saved at the canvas size from one
drawing; any other (no engine, or content beyond the canvas) is cropped and grown to its content by
bbox_inches="tight"."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from lindae.derivations.files import save_figure  # noqa: E402


def _saved_size(tmp_path, engine, outside=True):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    if outside:
        fig.text(1.05, 0.5, "a label right of the canvas")    # tight cropping must grow the image to keep it
    if engine:
        fig.set_layout_engine("tight")
    path = save_figure(fig, tmp_path / f"{engine}.png", dpi=100)
    plt.close(fig)
    return Image.open(path).size


def test_a_laid_out_figure_inside_its_canvas_keeps_the_canvas(tmp_path):
    assert _saved_size(tmp_path, True, outside=False) == (400, 300)


def test_a_laid_out_figure_with_content_beyond_its_canvas_is_grown_to_it(tmp_path):
    width, _ = _saved_size(tmp_path, True)
    assert width > 400


def _laid_out_figure():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0], label="a line")
    ax.legend()
    fig.suptitle("a title")
    fig.set_layout_engine("tight")
    return fig


def test_the_one_drawing_equals_what_savefig_draws(tmp_path):
    """The PNG written from the canvas has the pixels of matplotlib's own savefig of the same figure, same dpi."""
    import io
    import numpy as np
    fig = _laid_out_figure()
    path = save_figure(fig, tmp_path / "one.png", dpi=90)
    plt.close(fig)
    fig, buf = _laid_out_figure(), io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(buf)))


def test_a_figure_without_a_layout_engine_is_cropped_to_its_content(tmp_path):
    width, height = _saved_size(tmp_path, False)
    assert width > 400 and height < 300
