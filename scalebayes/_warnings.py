"""Warning classes shared across subpackages (re-exported where they are used)."""

__all__ = ["ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """MCMC diagnostics failed a check: r-hat too large, ESS too small or divergences.

    Raised by the joint-law posteriors of ``scalebayes.compute`` and by
    [`check_convergence`][scalebayes.inference.check_convergence] for the per-curve MCMC
    baselines, where the message names the curves that fail.
    """
