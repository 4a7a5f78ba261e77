"""Every pair of exact forms of every mixer (`attnbench.models.zoo.all_forms`) agrees on the output and on
every gradient, in fp64: at length 1, at a prime length, and at a length that is not a multiple of the
chunk (a partial last block), causal and, where both forms define it, non-causal; at every setting the mixer
declares (feature maps, decays, β ranges, logit scales). Tolerance: `mixer_testing.TOLERANCE` (its reason).
"""

from __future__ import annotations

import pytest
import torch
from mixer_testing import assert_close

from attnbench.models.forms import evaluate
from attnbench.models.zoo import all_forms

FORMS = all_forms()
BATCH, HEADS, DIM = 2, 3, 5
CHUNK = 5
# 1; a prime (never a multiple of a block); 12 = 2·5 + 2, a partial last chunk. Chunk sizes: one token per
# chunk, CHUNK, and one chunk longer than the sequence.
LENGTHS = (1, 37, 12)
CHUNKS = (1, CHUNK, 64)


def _cases() -> list[pytest.param]:
    cases = []
    for mixer, forms in FORMS.items():
        for index, setting in enumerate(forms.settings):
            for first, second, masks in forms.pairs():
                for causal in masks:
                    for length in LENGTHS:
                        for chunk in CHUNKS if forms.chunked else (None,):
                            name = f"{mixer}[{index}]-{first}~{second}-causal={causal}-n={length}-chunk={chunk}"
                            cases.append(pytest.param(mixer, setting, first, second, causal, length, chunk, id=name))
    return cases


@pytest.mark.parametrize(("mixer", "setting", "first", "second", "causal", "length", "chunk"), _cases())
def test_forms_agree_on_output_and_every_gradient(mixer, setting, first, second, causal, length, chunk):
    forms = FORMS[mixer]
    inputs = forms.sample(torch.Generator().manual_seed(length), (BATCH, HEADS, length, DIM), torch.float64, **setting)
    reference, other = (evaluate(forms.forms[name], inputs, causal=causal, chunk=chunk) for name in (first, second))
    assert set(reference) == set(other) and {"output", "dq", "dk", "dv"} <= set(reference)
    context = f"{mixer} {setting}: {first} vs {second}, causal={causal}, length {length}, chunk {chunk}"
    for quantity in reference:
        assert_close(quantity, reference[quantity], other[quantity], context=context)


def test_every_mixer_declares_at_least_two_forms_and_a_pair_to_compare():
    assert FORMS and all(len(forms.forms) >= 2 and any(forms.pairs()) for forms in FORMS.values())


def test_a_causal_only_form_refuses_the_non_causal_map():
    forms = FORMS["linear"]
    inputs = forms.sample(torch.Generator().manual_seed(0), (1, 1, 4, 2), torch.float64)
    with pytest.raises(ValueError, match="computes only causal"):
        evaluate(forms.forms["recurrent"], inputs, causal=False)
