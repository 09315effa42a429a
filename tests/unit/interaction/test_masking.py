"""Masking: every occurrence of every kind; numbers failing their checksum stay."""

from __future__ import annotations

from common.personal_data import id_number_ok, luhn_ok
from services.interaction.masking import mask

TEXT = (
    "我的手机13812345678，备用139-1234-5678，再打+86 13912345678也行，还是13812345678。"
    "身份证11010519491231002X，家人的也是11010519491231002X；写错的110105194912310021不算。"
    "工资卡6222021234567890128，信用卡4111 1111 1111 1111，订单号20250926123456789012。"
    "邮箱zhang.san@example.com.cn或li@qq.com。座机010-12345678、(0755)87654321、02887654321。"
)


def test_every_occurrence_of_every_kind_is_masked() -> None:
    masked, log = mask(TEXT)
    assert masked.count("138****5678") == 2 and "139****5678" in masked
    assert masked.count("110***********002X") == 2
    assert "622202*********0128" in masked and "411111******1111" in masked
    assert "z***@example.com.cn" in masked and "l***@qq.com" in masked
    assert "010-****5678" in masked and "0755-****4321" in masked and "028-****4321" in masked
    for secret in ("13812345678", "11010519491231002X", "6222021234567890128", "zhang.san"):
        assert secret not in masked
    assert "010-12345678" not in masked
    kinds = [m.kind for m in log]
    assert kinds.count("mobile") == 4 and kinds.count("id_number") == 2
    assert kinds.count("bank_card") == 2 and kinds.count("email") == 2
    assert kinds.count("landline") == 3


def test_checksum_failures_are_not_personal_data() -> None:
    masked, _ = mask(TEXT)
    assert "110105194912310021" in masked  # bad ID checksum
    assert "20250926123456789012" in masked  # 20 digits: an order number
    assert id_number_ok("11010519491231002X") and not id_number_ok("110105194912310021")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_log_points_at_the_original_offsets() -> None:
    _, log = mask(TEXT)
    first = log[0]
    assert TEXT[first.start : first.start + first.length] == "13812345678"
    assert len(first.original_sha256) == 64 and first.masked == "138****5678"


def test_the_citizens_own_name_and_address_are_masked_where_they_recur() -> None:
    address = "成都市武侯区玉林路18号2单元301"
    text = f"我是李小明，家住{address}，李小明的邻居在18号2单元301楼下施工。"
    masked, log = mask(text, names=["李小明"], addresses=[address])
    assert masked == "我是李**，家住成都市武侯区玉林路**，李**的邻居在**楼下施工。"
    assert [m.kind for m in log] == ["name", "address", "name", "address"]
