"""Search spaces: one module per space, each following the contract in nasbench.spaces."""
