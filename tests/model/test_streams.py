"""The run's random-number streams are defined once (forecast.model.streams) and keep their
values: a changed stream id would silently change every result of every seed."""

from __future__ import annotations

import numpy as np

from forecast.model import arrays, beliefs, streams
from forecast.sampling import sampler


def test_stream_ids_are_distinct_and_keep_their_values():
    ids = {"EPISTEMIC": 0, "CRISES": 1, "SENSITIVITY_BOOTSTRAP": 7, "INITIATION_POSTERIOR": 8}
    assert {k: getattr(streams, k) for k in ids} == ids


def test_the_epistemic_generator_is_keyed_by_its_stream():
    want = np.random.Generator(np.random.SFC64(np.random.SeedSequence([123, 0]))).random(5)
    np.testing.assert_array_equal(beliefs.epistemic_generator(123).random(5), want)


def test_each_epistemic_parameter_is_keyed_by_its_stream_and_name():
    key = [123, 0, 2, arrays.stable_key("willingness[USA]")]
    want = np.random.Generator(np.random.SFC64(np.random.SeedSequence(key))).standard_normal(5)
    got = beliefs._keyed_normals(123, 2, ["willingness[USA]"], 5)[:, 0]
    np.testing.assert_array_equal(got, want)


def test_a_crisis_column_is_keyed_by_its_stream_draw_block_group_and_index():
    key = [2**40 + 5, 1, 3, 4, 2, 1]
    want = np.random.Generator(np.random.SFC64(np.random.SeedSequence(key))).random(5)
    np.testing.assert_array_equal(sampler.column_generator(*key[:1], *key[2:]).random(5), want)
    # the entropy words the numba seeding starts from: the seed's, the stream's, draw, block
    words = sampler.block_key(2**40 + 5, 3, 4)
    np.testing.assert_array_equal(words, [5, 2**8, 1, 3, 4])


def test_the_forecast_says_how_its_numbers_were_keyed():
    text = streams.describe()
    assert "SeedSequence([seed, 0, kind, key])" in text
    assert "SeedSequence([seed, 1, draw, block" in text
