"""The numbers the authors' official notebooks report (notes A5, stored plots), which claims test and figures
draw beside the measurement."""

NOTEBOOK_CORR_AT_1000 = 0.99  # local_converge.ipynb, W-trained, at 1000 iterations
NOTEBOOK_STEP = 1000
PAPER_NUCLEAR_RANK_2N = 4.9  # svm_rank.ipynb, n = 5, d >= 10
NOTEBOOK_DIR = {4: 0.075, 10: 0.0085}  # multi_token_converge.ipynb: 1 - corr(W, W^dir) at 2000 iterations
