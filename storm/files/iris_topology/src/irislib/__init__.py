"""
Shared code of the iris topology's components (settings, the model holder, the
directory tail and the rotating results file).  Only the standard library is imported at
module level: numpy, scikit-learn and joblib are imported when a component starts, so the
topology definition can be loaded by ``sparse submit`` in an environment without them.
"""
