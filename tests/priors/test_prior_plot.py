"""The prior-predictive figure (slow: it compiles the generator for each family)."""

import jax
import pytest

from scalebayes.priors import PriorConfig, plot_prior_predictive


@pytest.mark.slow
def test_plot_prior_predictive_writes_three_panels(tmp_path):
    path = tmp_path / "prior.png"
    fig = plot_prior_predictive(jax.random.key(0), n_per_family=5, path=path, length=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [
        "Down (5 curves)",
        "Down-Down (5 curves)",
        "Down-Up-Down (5 curves)",
    ]
    for ax in axes:
        assert len(ax.lines) == 5 * 4  # noisy dots, context, targets, cutoff per curve
    # a review: the x axis stopped at 1 whatever the config's grid (x_range=(1, 100))
    wide = plot_prior_predictive(
        jax.random.key(0), n_per_family=2, length=40, config=PriorConfig(x_range=(1.0, 100.0))
    )
    assert all(ax.get_xlim()[1] == 100.0 for ax in wide.get_axes())
