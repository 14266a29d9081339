"""alexnet_tf.hardware: the processor's name and flags, and the fastest compute dtype."""

import pytest
import tensorflow as tf

from alexnet_tf import hardware

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu vme avx2 avx512f avx512_bf16 avx512_vnni

processor\t: 1
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu vme avx2
"""


def test_model_name_and_flags_of_the_first_processor():
    assert hardware.cpu_model(CPUINFO) == "AMD EPYC 9R14 96-Core Processor"
    assert hardware.cpu_flags(CPUINFO) == {"fpu", "vme", "avx2", "avx512f", "avx512_bf16", "avx512_vnni"}


def test_unknown_processor_has_no_name_and_no_flags():
    assert hardware.cpu_model("processor\t: 0\n") is None
    assert hardware.cpu_flags("") == frozenset()


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="a GPU decides instead")
def test_fastest_dtype_without_gpus_follows_the_cpu_s_bfloat16_flags():
    native = bool(hardware.cpu_flags() & {"avx512_bf16", "amx_bf16"})
    assert hardware.fastest_dtype() == ("bfloat16" if native else "float32")
