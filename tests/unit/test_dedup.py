from tests.newsroom import gold_texts
from worker import dedup


def test_text_hash_ignores_layout_case_and_accents():
    assert dedup.text_hash("Le  Président\n« a dit »") == dedup.text_hash("le president a dit")
    assert dedup.text_hash("Le président a dit") != dedup.text_hash("Le président a menti")


def test_near_duplicates_score_high_and_distinct_texts_low():
    a, b = gold_texts()[0]["text"], gold_texts()[1]["text"]
    paras = a.split("\n\n")
    copy = "\n\n".join(["Un autre titre", *paras[:-1], "Un paragraphe ajouté à la fin."])
    sa, sc, sb = dedup.signature(a), dedup.signature(copy), dedup.signature(b)
    assert dedup.similarity(sa, sc) > 0.6
    assert dedup.similarity(sa, sb) < 0.1
    assert set(dedup.band_keys(sa, 0.5)) & set(dedup.band_keys(sc, 0.5))
    assert not set(dedup.band_keys(sa, 0.5)) & set(dedup.band_keys(sb, 0.5))


def test_signature_round_trips_through_bytes():
    sig = dedup.signature(gold_texts()[2]["text"])
    assert (dedup.from_bytes(dedup.to_bytes(sig)) == sig).all()
    assert all(0 <= k < 2**63 for k in dedup.band_keys(sig, 0.5))
