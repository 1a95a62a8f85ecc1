from worker.extract import decode_html, extract

# Written for these tests (not a publisher's text): accents, curly apostrophes, a quote.
PARAGRAPHS = [
    "Le secrétaire d’État américain, Antony Blinken, est arrivé jeudi matin à Kiev pour une "
    "visite qui n’avait pas été annoncée, la troisième depuis le début de la guerre.",
    "Il doit y rencontrer le président ukrainien et son ministre des Affaires étrangères, "
    "avant de rejoindre la Pologne où se tient une réunion des alliés des États-Unis.",
    "Washington a promis une nouvelle aide militaire de 675 millions de dollars, composée "
    "de munitions, de véhicules blindés et de matériel de déminage, selon le Pentagone.",
    "« Nous serons à vos côtés aussi longtemps qu’il le faudra », a déclaré le chef de la "
    "diplomatie américaine devant la presse, à la sortie d’un hôpital de la capitale.",
    "Les Européens, de leur côté, discutent d’un nouveau paquet de sanctions visant les "
    "exportations de pétrole et les banques qui financent encore l’effort de guerre.",
]


def page(charset_meta: str = "utf-8", body_extra: str = "") -> str:
    paras = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!doctype html><html lang="fr"><head><meta charset="{charset_meta}">
<title>Blinken à Kiev | Le Journal</title>
<meta property="og:site_name" content="Le Journal">
<meta property="article:published_time" content="2022-09-08T14:05:00+02:00">
<meta name="author" content="Marie Dupont">
<link rel="canonical" href="https://journal.test/monde/blinken-kiev">
</head><body><nav><ul><li><a href="/">Accueil</a></li><li><a href="/monde">Monde</a></li></ul></nav>
<div id="cookie">Nous utilisons des cookies pour améliorer votre expérience.</div>
<article><h1>Blinken à Kiev</h1>{paras}{body_extra}</article>
<section id="comments" class="comments"><p>Commentaire de Jean : scandaleux, vraiment.</p></section>
<footer>Mentions légales - Plan du site</footer></body></html>"""


def test_body_is_clean_and_complete_with_metadata():
    found = extract(page().encode("utf-8"), "https://journal.test/x")
    for paragraph in PARAGRAPHS:
        assert paragraph[:60] in found.text
    assert "cookies" not in found.text and "Commentaire de Jean" not in found.text
    assert "Mentions légales" not in found.text
    assert found.published == "2022-09-08T14:05:00+02:00"
    assert found.language == "fr"
    assert found.authors == ("Marie Dupont",)
    assert found.site_name == "Le Journal"
    assert found.canonical_url == "https://journal.test/monde/blinken-kiev"
    assert found.body.count("\n\n") >= len(PARAGRAPHS) - 1  # Markdown paragraphs


def test_windows_1252_page_is_decoded_without_mojibake():
    raw = page("windows-1252").encode("cp1252")
    text, codec = decode_html(raw, {"content-type": "text/html; charset=windows-1252"})
    assert codec == "cp1252"
    assert "secrétaire d’État" in text
    found = extract(raw, None, {"content-type": "text/html"})
    assert "secrétaire d’État américain" in found.text and "Ã" not in found.text


def test_wrong_header_charset_is_not_trusted():
    raw = page("utf-8").encode("utf-8")
    text, codec = decode_html(raw, {"content-type": "text/html; charset=iso-8859-1"})
    assert codec == "utf-8" and "États-Unis" in text
    raw_1252 = page("windows-1252").encode("cp1252")
    text, _ = decode_html(raw_1252, {"content-type": "text/html; charset=utf-8"})
    assert "États-Unis" in text


def test_paywall_marker_is_flagged():
    paywall = '<div class="paywall">Cet article est réservé aux abonnés</div>'
    found = extract(page(body_extra=paywall).encode(), None)
    assert found.paywalled


def test_xml_body_format():
    found = extract(page().encode(), None, body_format="xml")
    assert found.body.startswith("<body") or found.body.startswith("<doc")
    assert "Blinken" in found.body
