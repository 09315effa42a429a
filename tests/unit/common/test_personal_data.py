"""The personal-data kernel: each detector at exact spans, overlaps, known values, masking."""

from __future__ import annotations

from common.personal_data import (
    Span,
    coarse_address,
    find_known,
    find_personal_data,
    id_number_ok,
    luhn_ok,
    mask,
    mask_all,
)

ID18 = "11010519491231002X"
ID15 = "110105491231002"
CARD = "6222021234567890128"  # Luhn-valid


def texts(text: str, kinds: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    spans = find_personal_data(text) if kinds is None else find_personal_data(text, kinds=kinds)
    return [(s.kind, text[s.start : s.end]) for s in spans]


def test_id_numbers_by_checksum_and_birth_date() -> None:
    assert id_number_ok(ID18) and id_number_ok(ID18.lower()) and id_number_ok(ID15)
    assert not id_number_ok("110105194912310021")  # wrong check character
    assert not id_number_ok("110105194913310025")  # month 13
    assert not id_number_ok("110105491331002")  # legacy, month 13
    text = f"身份证{ID18}，旧证{ID15}，错号110105194912310021，订单{ID18}1。"
    assert texts(text) == [("id_number", ID18), ("id_number", ID15)]


def test_mobiles_not_inside_longer_digit_runs() -> None:
    text = "手机13812345678、139-1234-5678、+86 137 1234 5678，订单913812345678，12812345678。"
    assert texts(text) == [
        ("mobile", "13812345678"),
        ("mobile", "139-1234-5678"),
        ("mobile", "+86 137 1234 5678"),
    ]


def test_landlines_in_their_usual_forms() -> None:
    text = "座机028-86612345、(0755)12345678、010 8888 6666、（0571）8765432、028-86612345-801。"
    assert [t for _, t in texts(text)] == [
        "028-86612345",
        "(0755)12345678",
        "010 8888 6666",
        "（0571）8765432",
        "028-86612345-801",
    ]
    assert {k for k, _ in texts(text)} == {"landline"}


def test_bank_cards_by_luhn_and_never_an_id_number() -> None:
    assert luhn_ok(CARD) and not luhn_ok("6222021234567890127")
    text = f"卡{CARD}、4111 1111 1111 1111、错卡6222021234567890127，证{ID18}，"
    text += "单号20250926123456789012"
    assert texts(text) == [
        ("bank_card", CARD),
        ("bank_card", "4111 1111 1111 1111"),
        ("id_number", ID18),
    ]
    both = "110105194912300219"  # a valid ID number that also passes Luhn
    assert luhn_ok(both) and texts(f"号{both}") == [("id_number", both)]


def test_emails() -> None:
    assert texts("联系 a.b@example.com 或 xinxi@beijing.gov.cn；不是邮箱 a@b") == [
        ("email", "a.b@example.com"),
        ("email", "xinxi@beijing.gov.cn"),
    ]


def test_known_name_and_address_wherever_they_recur() -> None:
    address = "四川省成都市武侯区人民南路四段12号3栋501"
    text = f"我叫张三丰，住{address}。张三丰再次反映：12号3栋501楼下噪音。"
    spans = find_personal_data(text, names=["张三丰"], addresses=[address])
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [
        ("name", "张三丰"),
        ("address", address),
        ("name", "张三丰"),
        ("address", "12号3栋501"),
    ]
    assert find_known("张", names=["张", None, ""]) == []  # one character is no name
    assert coarse_address(address) == "四川省成都市武侯区人民南路四段"
    assert coarse_address("北京市朝阳区建国路八十八号") == "北京市朝阳区建国路"


def test_spans_are_exact_and_never_overlap() -> None:
    text = f"a{ID18}b13812345678c{CARD}d028-86612345e张三f"
    spans = find_personal_data(text, names=["张三"])
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
    assert [text[s.start : s.end] for s in spans] == [
        ID18, "13812345678", CARD, "028-86612345", "张三",
    ]  # fmt: skip
    assert find_personal_data(text, kinds=("mobile",)) == [Span(20, 31, "mobile")]


def test_one_masking_style() -> None:
    address = "成都市武侯区人民南路四段12号"
    text = (
        f"张三，{ID18}，{ID15}，13812345678，+86 139-1234-5678，{CARD}，"
        f"010-12345678，(0755)87654321，zhang.san@example.com，{address}，12号。"
    )
    masked = mask_all(text, names=["张三"], addresses=[address])
    assert masked == (
        "张**，110***********002X，110********1002，138****5678，139****5678，622202*********0128，"
        "010-****5678，0755-****4321，z***@example.com，成都市武侯区人民南路四段**，**。"
    )  # the house number alone is masked too
    assert mask("abc", []) == "abc"
