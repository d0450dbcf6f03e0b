"""Idempotent creates through the official SDK: the same idempotency_key answers the same sandbox."""

import uuid

import pytest
from e2b import AsyncSandbox, Sandbox, SandboxException

from conftest import SANDBOX_TIMEOUT


class TestSync:
    def test_same_key_same_sandbox_and_a_different_request_is_refused(self, label: str):
        key = str(uuid.uuid4())
        first = Sandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"label": label}, idempotency_key=key)
        try:
            again = Sandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"label": label}, idempotency_key=key)
            assert again.sandbox_id == first.sandbox_id
            with pytest.raises(SandboxException) as refused:
                Sandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"label": "other"}, idempotency_key=key)
            assert "422" in str(refused.value)
            other = Sandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"label": label}, idempotency_key=str(uuid.uuid4()))
            try:
                assert other.sandbox_id != first.sandbox_id
            finally:
                other.kill()
        finally:
            first.kill()


class TestAsync:
    async def test_same_key_same_sandbox(self, label: str):
        key = str(uuid.uuid4())
        first = await AsyncSandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"label": label}, idempotency_key=key)
        try:
            again = await AsyncSandbox.create(timeout=SANDBOX_TIMEOUT, metadata={"label": label}, idempotency_key=key)
            assert again.sandbox_id == first.sandbox_id
            assert (await again.commands.run("echo same")).stdout == "same\n"
        finally:
            await first.kill()
