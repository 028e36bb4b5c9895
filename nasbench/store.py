"""`nasbench.store`, the name earlier versions and the README's examples import the results table by.

It is the module `nasbench.results.store` itself, not a copy, so everything it defines is here.
"""

import sys

from nasbench.results import store

sys.modules[__name__] = store
