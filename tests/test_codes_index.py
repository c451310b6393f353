"""The ICD-10-CM Index material: readers, references, dash codes, tables, releases, CLI.

Hand-written XML and CSV samples (following the XSDs) first, then the real FY2025 files from
``../shared/data/icd10cm-index-2025`` (skipped with a reason when absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_harness import run_cli
from conftest import require_data
from icdbridge.codes import get_terminology
from icdbridge.codes.fuzzy import Vocabulary
from icdbridge.codes.index import (
    AlphabeticIndex,
    CodeExpander,
    category_note_codes,
    load_index,
    locate_index,
    read_flat_csv,
    read_index_xml,
)
from icdbridge.errors import DataNotFoundError, InputFormatError

INDEX_DIR = ("icd10cm-index-2025",)

# A small Index to Diseases following icd10cm_index_2025.xsd: letter → mainTerm → term levels,
# title with nemod, code, manif, see, seeAlso, seecat, and an addenda <diff> title.
SAMPLE_INDEX = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.index>
  <version>2025</version>
  <title>ICD-10-CM INDEX TO DISEASES and INJURIES</title>
  <letter>
    <title>A</title>
    <mainTerm>
      <title>Abdominalgia</title>
      <see>Pain, abdominal</see>
    </mainTerm>
    <mainTerm>
      <title>Amyloidosis<nemod>(generalized) (primary)</nemod></title>
      <code>E85.9</code>
      <term level="1">
        <title>heart</title>
        <code>E85.4</code>
        <manif>I43</manif>
      </term>
    </mainTerm>
  </letter>
  <letter>
    <title>D</title>
    <mainTerm>
      <title>Diabetes, diabetic<nemod>(mellitus) (sugar)</nemod></title>
      <seeAlso>E08-E13 with .9</seeAlso>
      <code>E11.9</code>
      <term level="1">
        <title>with</title>
        <term level="2">
          <title>amyotrophy</title>
          <code>E11.44</code>
        </term>
      </term>
    </mainTerm>
  </letter>
  <letter>
    <title>F</title>
    <mainTerm>
      <title>Fracture, traumatic</title>
      <term level="1">
        <title>acetabulum</title>
        <code>S32.40-</code>
      </term>
    </mainTerm>
  </letter>
  <letter>
    <title>P</title>
    <mainTerm>
      <title>Pain<nemod>(s)</nemod></title>
      <seeAlso>Painful</seeAlso>
      <code>R52</code>
      <term level="1">
        <title>abdominal</title>
        <code>R10.9</code>
      </term>
    </mainTerm>
    <mainTerm>
      <diff><unc>Pain</unc><new>ful</new><old>fully</old></diff>
      <seecat>R52</seecat>
    </mainTerm>
  </letter>
</ICD10CM.index>
"""


@pytest.fixture
def sample_xml(tmp_path: Path) -> Path:
    path = tmp_path / "icd10cm_index_2025.xml"
    path.write_text(SAMPLE_INDEX, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index() -> AlphabeticIndex:
    require_data(*INDEX_DIR)
    return load_index()


# ----------------------------------------------------------------- official XML, hand-written
def test_xml_reader_on_hand_written_sample(sample_xml: Path) -> None:
    document = read_index_xml(sample_xml)
    assert document.source == "index" and document.version == "2025"
    by_text = {term.text(): term for term in document.terms}
    amyotrophy = by_text["Diabetes, diabetic › with › amyotrophy"]
    assert amyotrophy.code == "E11.44" and amyotrophy.level == 2
    assert amyotrophy.modifiers == ("(mellitus) (sugar)", "", "")
    assert amyotrophy.text(modifiers=True).startswith("Diabetes, diabetic (mellitus) (sugar) › ")
    heart = by_text["Amyloidosis › heart"]
    assert heart.code == "E85.4" and heart.manifestation == ("I43",)
    assert by_text["Abdominalgia"].see == "Pain, abdominal"
    assert by_text["Painful"].see_category == ("R52",)  # <diff>: new text kept, old dropped
    assert by_text["Diabetes, diabetic"].see_also == "E08-E13 with .9"


def test_hand_written_sample_as_an_index(sample_xml: Path) -> None:
    index = load_index(source=sample_xml)
    assert set(index.documents) >= {"index"}
    assert [p.text() for p in index.paths_for("E11.44", exact=True)] == [
        "Diabetes, diabetic › with › amyotrophy"
    ]
    manifestation = [p for p in index.paths_for("I43") if p.relation == "manifestation"]
    assert [p.text() for p in manifestation] == ["Amyloidosis › heart"]
    # See reference resolved: Abdominalgia → Pain › abdominal → R10.9.
    abdominalgia = index.find("Abdominalgia")
    reference = index.reference(abdominalgia, "see")
    assert reference.status == "resolved" and reference.target.text() == "Pain › abdominal"
    assert index.codes_for("Abdominalgia") == ["R10.9"]
    assert "Abdominalgia" in [p.text() for p in index.paths_for("R10.9")]
    # Dash code expanded through the 2026 tabular list.
    s32 = index.codes_for("Fracture, traumatic, acetabulum", expand=True)
    assert "S32.401A" in s32 and all(c.startswith("S32.40") for c in s32)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("<ICD10CM.index><letter>", "not well-formed XML"),
        ("<other/>", "root is not <ICD10CM.index>"),
        (
            "<ICD10CM.index><letter><title>A</title><mainTerm><title>X</title>"
            "<bogus/></mainTerm></letter></ICD10CM.index>",
            "unexpected element in <mainTerm>",
        ),
        (
            "<ICD10CM.index><letter><title>A</title><mainTerm><title>X</title>"
            '<term level="3"><title>y</title></term></mainTerm></letter></ICD10CM.index>',
            "term level does not follow its nesting",
        ),
    ],
)
def test_xml_reader_refuses_bad_files(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError, match=needle) as raised:
        read_index_xml(path)
    assert str(path) in str(raised.value)


# ----------------------------------------------------------------- flattened CSV, hand-written
def test_flat_csv_levels_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text(
        "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n"
        "1,D,0,Disorder,,,,F99\n2,D,1,pain,,,,\n3,D,2,persistent,,,,\n"
        "4,D,3,,,,(somatoform),F45.41\n5,D,0,Dementia,,,,F03.90\n",
        encoding="utf-8",
    )
    terms = read_flat_csv(path).terms
    assert terms[3].titles == ("Disorder", "pain", "persistent", "somatoform")
    assert terms[3].parent == 2 and terms[4].parent is None
    path.write_text(
        "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n1,A,0,X,,,,\n2,A,2,y,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFormatError, match=r"line 3: Level 2 has no parent"):
        read_flat_csv(path)
    path.write_text(
        "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n1,A,0,X,,,,E11.9.9\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFormatError, match=r"line 2: Code is not an ICD-10-CM code"):
        read_flat_csv(path)


def test_official_xml_preferred_to_flattened_csv(sample_xml: Path) -> None:
    flat = sample_xml.parent / "icd10cm_index_2025.flattened.csv"
    flat.write_text(
        "RowID,Letter,Level,Term,See,SeeAlso,NonEssModif,Code\n1,A,0,Abasia,,,,R26.2\n",
        encoding="utf-8",
    )
    assert locate_index(source=sample_xml.parent) == {"index": sample_xml}
    sample_xml.unlink()
    assert locate_index(source=sample_xml.parent) == {"index": flat}
    index = load_index(source=flat)
    assert [(t.title, codes) for t, codes in index.term_codes()] == [("Abasia", ("R26.2",))]


def test_missing_data_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="Table and Index"):
        locate_index(source=tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="CDC NCHS"):
        locate_index(source=tmp_path)  # exists, but holds no Index file


# ----------------------------------------------------------------- expansion (tabular only)
def test_dash_and_category_expansion() -> None:
    expand = CodeExpander(get_terminology("icd10cm", "2026"))
    dash = expand("S32.40-")
    assert dash.status == "expanded"
    assert set(dash.targets) == {
        f"S32.40{d}{s}" for d in "129" for s in "ABDGKS"
    }  # left / right / unspecified acetabulum, six 7th characters
    assert expand("E11.44").status == "billable" and expand("E11.44").targets == ("E11.44",)
    needs_seventh = expand("T39.1X5")  # drug-table codes need the 7th character
    assert needs_seventh.targets == ("T39.1X5A", "T39.1X5D", "T39.1X5S")
    assert expand("Z99.999").status == "not_defined"
    cm = get_terminology("icd10cm")
    assert category_note_codes("E08-E13 with .620", cm) == (
        "E08.620",
        "E09.620",
        "E10.620",
        "E11.620",
        "E13.620",
    )
    fourth = category_note_codes("N00-N07 with fourth character .0", cm)
    assert fourth[:2] == ("N00.0", "N01.0") and all(c[4] == "0" for c in fourth)


def test_typo_tolerant_vocabulary() -> None:
    vocabulary = Vocabulary(["essential", "hypertension", "flu"])
    assert vocabulary.match("hypertension") == [("hypertension", 1.0)]
    assert vocabulary.match("esential") == [("essential", 0.875)]
    assert vocabulary.match("flo") == []  # too short to correct
    assert vocabulary.match("zzzzzzzz") == []


@pytest.mark.parametrize("system", ["icd10cm", "icd9cm", "icd10who"])
def test_typo_tolerant_search_all_systems(system: str) -> None:
    hits = get_terminology(system).search("esential hypertension", limit=3)
    top = hits[0][0]
    assert top in {"I10", "401"} and 0.9 < hits[0][1] < 1.0


# ----------------------------------------------------------------- real FY2025 files
def test_flat_csv_real_structure(index: AlphabeticIndex) -> None:
    document = index.documents["index"]
    assert document.format == "flat-csv" and len(document.terms) == 81024
    assert sum(term.parent is None for term in document.terms) == 8100
    assert all(
        term.parent is None or document.terms[term.parent].level == term.level - 1
        for term in document.terms
    )
    paths = [p.text() for p in index.paths_for("E11.44", exact=True)]
    assert "Diabetes, diabetic › with › amyotrophy" in paths


def test_real_dash_code_entry(index: AlphabeticIndex) -> None:
    term = index.find("Fracture, traumatic, acetabulum")
    assert term is not None and term.code == "S32.40-"
    codes = index.codes_for(term, expand=True)
    assert "S32.401A" in codes and "S32.409S" in codes and len(codes) == 18
    path = next(p for p in index.paths_for("S32.401A") if p.term.id == term.id)
    assert path.exact is False and path.code == "S32.40-"


def test_real_see_and_see_also(index: AlphabeticIndex) -> None:
    abdominalgia = index.find("Abdominalgia")
    see = index.reference(abdominalgia, "see")
    assert see.status == "resolved" and see.target.titles == ("Pain", "abdominal")
    painful = index.reference(index.find("Pain"), "see_also")
    assert painful.status == "resolved" and painful.target.titles == ("Painful",)
    statuses = {}
    for reference in index.references():
        statuses[reference.status] = statuses.get(reference.status, 0) + 1
    total = sum(statuses.values())
    assert statuses["resolved"] / total > 0.75  # most references name a real term
    # Neoplasm Table see-also into its own rows.
    wall = index.find("Neoplasm, neoplastic, abdomen, wall", "neoplasm")
    assert index.reference(wall, "see_also").target.text() == (
        "Neoplasm, neoplastic › abdomen, abdominal › wall › skin"
    )


def test_real_drug_table_columns(index: AlphabeticIndex) -> None:
    row = index.drug("Acetaminophen")
    assert row is not None
    assert row["poisoning_accidental"] == "T39.1X1" and row["poisoning_intentional"] == "T39.1X2"
    assert row["adverse_effect"] == "T39.1X5" and row["underdosing"] == "T39.1X6"
    insulin = index.drug("Insulin")
    assert insulin.term.modifiers[0].startswith("(amorphous)")
    # Across the table: every adverse-effect cell is a T code whose last character is 5
    # (T39.1X5, T37.95), every underdosing cell one ending in 6.
    rows = index.table("drug")
    adverse = [r["adverse_effect"] for r in rows if r["adverse_effect"]]
    under = [r["underdosing"] for r in rows if r["underdosing"]]
    assert len(adverse) > 3000 and len(under) > 3000
    assert all(c.startswith("T") and c.endswith("5") for c in adverse)
    assert all(c.startswith("T") and c.endswith("6") for c in under)
    texts = [p.text() for p in index.paths_for("T39.1X5A")]
    assert "Acetaminophen › adverse effect" in texts


def test_real_neoplasm_table_cells(index: AlphabeticIndex) -> None:
    lung = index.neoplasm("lung")
    assert lung.term.titles == ("Neoplasm, neoplastic", "lung")
    assert lung["malignant_primary"] == "C34.9-" and lung["malignant_secondary"] == "C78.0-"
    assert lung["benign"] == "D14.3-" and lung["unspecified"] == "D49.1"
    primaries = [r["malignant_primary"] for r in index.table("neoplasm") if r["malignant_primary"]]
    assert primaries and all(c.startswith("C") for c in primaries)


def test_real_external_cause_index(index: AlphabeticIndex) -> None:
    fall = index.find("Fall, falling, building")
    assert fall.source == "eindex" and fall.code == "W20.1"
    assert fall.modifiers[0] == "(accidental)"
    eindex = index.documents["eindex"]
    letters = {}
    for term in eindex.terms:
        if term.code:
            letters[term.code[0]] = letters.get(term.code[0], 0) + 1
    # External causes V00-Y99, plus a few T codes (foreign bodies, abuse) and Z codes
    # (occupational exposure).
    assert set(letters) <= set("TVWXYZ")
    assert sum(letters[c] for c in "VWXY") / sum(letters.values()) > 0.95


def test_real_release_mapping(index: AlphabeticIndex) -> None:
    mapping = index.release_mapping("2026")
    assert mapping["printed"] == mapping["billable"] + mapping["expanded"] + mapping["not_defined"]
    cm = get_terminology("icd10cm", "2026")
    assert all(not cm.is_defined(c.rstrip("-")) for c in mapping["not_defined_codes"])
    assert 0.9 < mapping["coverage"] <= 1.0
    # Through the release diff 2024 → 2026: new codes the FY2025 Index already reaches, and
    # codes removed by the diff that it still prints (split since; expanded to the new children).
    assert mapping["added_in_diff"] == 739 and 0 < mapping["added_reached"] < 739
    assert 0 < mapping["removed_printed"] <= mapping["removed_in_diff"] == 64
    assert mapping["added_reached_exact"] <= mapping["added_reached"]
    older = index.release_mapping("2024")
    assert older["label_release"] == "2024" and older["not_defined"] >= mapping["not_defined"]
    texts = index.label_texts(["E11.44"])
    assert "Diabetes, diabetic › with › amyotrophy" in texts["E11.44"]


# ----------------------------------------------------------------- CLI
def test_cli_lookup_index(capsys) -> None:
    require_data(*INDEX_DIR)
    code, out, _ = run_cli(
        ["codes", "lookup", "E11.44", "-s", "icd10cm", "--index", "--json"], capsys
    )
    assert code == 0
    paths = json.loads(out)["index"]["paths"]
    assert paths[0]["text"] == "Diabetes, diabetic › with › amyotrophy" and paths[0]["exact"]
    code, out, _ = run_cli(["codes", "lookup", "T39.1X5A", "-s", "icd10cm", "--index"], capsys)
    assert code == 0 and "Acetaminophen" in out and "adverse_effect" in out


def test_cli_lookup_index_path_to_official_xml(sample_xml: Path, capsys) -> None:
    args = ["codes", "lookup", "E85.4", "-s", "icd10cm", "--index-path", str(sample_xml)]
    code, out, _ = run_cli([*args, "--json"], capsys)
    assert code == 0
    assert [p["text"] for p in json.loads(out)["index"]["paths"]] == ["Amyloidosis › heart"]


def test_cli_typo_tolerant_search(capsys) -> None:
    code, out, _ = run_cli(
        ["codes", "search", "esential hypertension", "-s", "icd10cm", "-n", "3", "--json"],
        capsys,
    )
    assert code == 0 and json.loads(out)[0]["code"] == "I10"
    code, out, _ = run_cli(
        ["codes", "search", "esential hypertension", "-s", "icd9cm", "-n", "3", "--json"], capsys
    )
    assert code == 0 and json.loads(out)[0]["code"] == "401"


def test_cli_search_finds_index_terms(capsys) -> None:
    require_data(*INDEX_DIR)
    code, out, _ = run_cli(
        ["codes", "search", "acetaminophen underdosing", "-s", "icd10cm", "--json"], capsys
    )
    hits = json.loads(out)
    assert code == 0 and hits[0]["code"] == "T39.1X6"
    assert hits[0]["matched"] == "Acetaminophen [underdosing]"


def test_cli_index_missing_is_one_line(tmp_path: Path, capsys) -> None:
    args = ["codes", "lookup", "E11.9", "-s", "icd10cm", "--index-path", str(tmp_path / "x")]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "Table and Index" in err and "Traceback" not in err
    assert "(command line: --index-path PATH)" in err


def test_real_see_into_neoplasm_table(index: AlphabeticIndex) -> None:
    # "Adenocarcinoma, apocrine, breast - see Neoplasm, breast, malignant": the row "breast"
    # of the Neoplasm Table, column malignant primary.
    term = index.find("Adenocarcinoma, apocrine, breast")
    reference = index.reference(term, "see")
    assert reference.status == "resolved" and reference.remainder == "malignant"
    assert reference.target.titles == ("Neoplasm, neoplastic", "breast")
    via = [p for p in index.paths_for("C50.919") if p.term.id == term.id]
    assert via and via[0].relation == "see" and via[0].column == "malignant_primary"
    assert via[0].text() == "Adenocarcinoma › apocrine › breast"
    whole_column = next(r for r in index.references() if r.text == "Neoplasm, benign, by site")
    assert whole_column.status == "table" and whole_column.target is None


def test_cli_search_without_index_material(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ICDBRIDGE_DATA", str(tmp_path))
    args = ["codes", "search", "esential hypertension", "-s", "icd10cm", "-n", "2", "--json"]
    code, out, err = run_cli(args, capsys)
    assert code == 0 and json.loads(out)[0]["code"] == "I10"
    assert "Index terms not searched" in err and "Table and Index" in err
    code, out, err = run_cli([*args, "--no-index"], capsys)
    assert code == 0 and err == ""
    code, _, err = run_cli([*args, "--index"], capsys)
    assert code == 2 and "Table and Index" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------- wording taken apart
def test_real_coding_instructions_leave_the_title(index: AlphabeticIndex) -> None:
    # "Burn › fourth degree - code as Burn, third degree, by site": the title holds the term's
    # words, the instruction is kept, and the term it names is the see reference.
    burn = index.find("Burn, fourth degree")
    assert burn is not None and burn.titles[-1] == "fourth degree"
    assert burn.instruction == "code as Burn, third degree, by site"
    assert burn.see == "Burn, third degree, by site"
    # The Index writes the degree under each site ("Burn › ankle › third degree"), so the
    # reference resolves partly: to Burn, with "third degree, by site" left as the instruction.
    reference = index.reference(burn, "see")
    assert reference.status == "partial" and reference.target.titles == ("Burn",)
    assert reference.remainder == "third degree, by site"
    # "Stroke › meaning › cerebral infarction - code to Infarction, cerebral" leads to I63.9.
    stroke = index.find("Stroke › meaning › cerebral infarction")
    assert stroke is not None and index.reference(stroke, "see").status == "resolved"
    assert any(p.term.id == stroke.id for p in index.paths_for("I63.9"))
    # "omit code": an instruction and nothing to look up.
    omitted = [t for t in index.terms("index") if t.instruction == "omit code"]
    assert omitted and all(not t.see and not t.code for t in omitted)
    # no title keeps an instruction, and no phrase word comes from one
    assert not [t for t in index.terms("index") if " - code " in t.title.lower()]


def test_real_see_in_modifiers_and_run_in_codes(index: AlphabeticIndex) -> None:
    # The flattened CSV: "Bronchorrhagia (see Hemoptysis)" → see, and so R04.2.
    bronchorrhagia = index.find("Bronchorrhagia")
    assert bronchorrhagia.see == "Hemoptysis" and bronchorrhagia.modifiers[-1] == ""
    assert any(p.term.id == bronchorrhagia.id for p in index.paths_for("R04.2"))
    # "(pigmented) (see also Neoplasm, skin, malignant)": the modifier keeps "(pigmented)".
    basal = next(t for t in index.terms("index") if t.see_also == "Neoplasm, skin, malignant")
    assert basal.modifiers[-1] == "(pigmented)" and basal.code == "C44.91"
    # "(see also category M01)" becomes a category note.
    leprosy = next(t for t in index.terms("index") if t.title == "leprosy" and t.code == "A30.9")
    assert "category M01" in leprosy.see_category
    # A code the flattening ran into the title: "angiomatousD18.00".
    nevus = index.find("Nevus, angiomatous")
    assert nevus is not None and nevus.code == "D18.00"
    # ... or into the end of a see-also: "see also Fracture, traumatic M84.40".
    pathological = index.find("Fracture, pathological")
    assert pathological.code == "M84.40" and pathological.see_also == "Fracture, traumatic"
    physical = index.find("Examination › physical")
    assert physical.code == "Z00.00" and physical.see_also == "Examination, medical"
    # A category note keeps its code ("see also subcategory M14.8-").
    assert all(not t.see_also.startswith(("category", "subcategory")) for t in index.terms("index"))
    # The official Neoplasm Table XML writes one see reference as a nonessential modifier.
    nerve = index.find("Neoplasm, neoplastic, autonomic nerve or nervous system NEC", "neoplasm")
    assert nerve.see == "Neoplasm, nerve, peripheral" and nerve.modifiers[-1] == ""


def test_xml_reader_takes_instructions_and_see_modifiers_apart(tmp_path: Path) -> None:
    path = tmp_path / "icd10cm_index_2025.xml"
    path.write_text(
        SAMPLE_INDEX.replace(
            "<title>Abdominalgia</title>",
            "<title>Bronchorrhagia<nemod>(see Hemoptysis)</nemod></title></mainTerm><mainTerm>"
            "<title>Abdominalgia</title>",
        ).replace(
            "<title>acetabulum</title>",
            "<title>blisters - code as Burn, second degree, by site</title></term>"
            '<term level="1"><title>acetabulum</title>',
        ),
        encoding="utf-8",
    )
    terms = {t.text(): t for t in read_index_xml(path).terms}
    assert terms["Bronchorrhagia"].see == "Hemoptysis"
    blisters = terms["Fracture, traumatic › blisters"]
    assert blisters.instruction == "code as Burn, second degree, by site"
    assert blisters.see == "Burn, second degree, by site" and not blisters.code


def test_real_reference_by_head_word_names_the_main_entry(index: AlphabeticIndex) -> None:
    # Several main terms share the head word "Fracture" (burst, chronic, pathological,
    # traumatic...). "see Fracture, humerus" names the main entry, "Fracture, traumatic", which
    # has the most subterms, not "Fracture, pathological" printed before it.
    humerus = index.find("Fracture, traumatic › arm › humerus")
    assert index.reference(humerus, "see").target.titles == ("Fracture, traumatic", "humerus")
    back = index.reference(index.find("Broken › back"), "see")
    assert back.target.titles[0] == "Fracture, traumatic"
    assert not any(
        p.code.startswith("M84") for p in index.code_paths() if p.term.id == back.term.id
    )
    # A reference naming the whole title still gets that term.
    chronic = index.reference(index.find("Fracture, chronic"), "see")
    assert chronic.target.titles == ("Fracture, pathological",) and chronic.remainder == "by site"


def test_real_partial_reference_stops_at_the_last_term_it_names(index: AlphabeticIndex) -> None:
    # "see Pregnancy, complicated by, placenta, transfusion syndrome" (under "Syndrome ›
    # transfusion › fetomaternal"): "placenta" is only the first word of four subterms of
    # "complicated by" (placenta accreta, increta, percreta, previa) and no subterm of any of
    # them is a transfusion syndrome, so the reference ends at "complicated by", with the rest
    # kept as its remainder, not at "placenta accreta" or "placenta previa".
    terms = [
        t
        for t in index.terms("index")
        if t.see == "Pregnancy, complicated by, placenta, transfusion syndrome"
    ]
    assert terms
    for term in terms:
        reference = index.reference(term, "see")
        assert reference.status == "partial"
        assert reference.target.titles == ("Pregnancy", "complicated by")
        assert reference.remainder == "placenta, transfusion syndrome"
    # The External Cause Index: "see Contact, with, by type of machine" ended at "Sliver, wood,
    # contact with", whose last comma-separated part is "contact with"; it ends at "Contact ›
    # with".
    struck = index.find("Struck by › machine", "eindex")
    assert struck is not None
    reference = index.reference(struck, "see")
    assert reference.status == "partial" and reference.target.titles == ("Contact", "with")
    assert reference.remainder == "by type of machine"
