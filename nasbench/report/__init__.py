"""`nasbench report`: one self-contained, offline HTML page of one or more studies (no torch)."""
