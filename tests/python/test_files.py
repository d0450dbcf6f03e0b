"""Files through the official SDK: read and write, directory operations, symlinks, watchers, signed URLs."""

import asyncio
import io
import os
import time

import httpx
import pytest
from e2b import AsyncSandbox, FileNotFoundException, FilesystemEventType, FileType, Sandbox

HOME = "/home/user"
# Every byte value, NULs and invalid UTF-8 included, and more than one chunk's worth.
BINARY = bytes(range(256)) * 1024 + os.urandom(4096)


def _wait_for_event_sync(handle, name: str, seconds: float = 15):
    """Polls the watcher (the sync client has only polling) until an event for `name` arrives."""
    seen = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for event in handle.get_new_events():
            seen.append(event)
            if event.name == name and event.type in (FilesystemEventType.CREATE, FilesystemEventType.WRITE):
                return event, seen
        time.sleep(0.1)
    pytest.fail(f"no create/write event for {name}; saw {seen}")


class TestSync:
    def test_write_and_read_text(self, sandbox: Sandbox):
        info = sandbox.files.write(f"{HOME}/notes/hello.txt", "héllo wörld\n")
        assert info.path == f"{HOME}/notes/hello.txt"
        assert info.name == "hello.txt"
        assert info.type == FileType.FILE
        assert sandbox.files.read(f"{HOME}/notes/hello.txt") == "héllo wörld\n"
        # Written as the default user, in a directory the write created.
        assert sandbox.commands.run(f"stat -c %U {HOME}/notes/hello.txt").stdout.strip() == "user"

    def test_write_and_read_bytes(self, sandbox: Sandbox):
        sandbox.files.write(f"{HOME}/blob.bin", BINARY)
        assert bytes(sandbox.files.read(f"{HOME}/blob.bin", format="bytes")) == BINARY
        streamed = b"".join(sandbox.files.read(f"{HOME}/blob.bin", format="stream"))
        assert streamed == BINARY
        assert sandbox.commands.run(f"stat -c %s {HOME}/blob.bin").stdout.strip() == str(len(BINARY))

    def test_write_files_many(self, sandbox: Sandbox):
        infos = sandbox.files.write_files(
            [{"path": f"{HOME}/many/a.txt", "data": "A"}, {"path": f"{HOME}/many/b.bin", "data": b"\x00B"}]
        )
        assert sorted(i.name for i in infos) == ["a.txt", "b.bin"]
        assert sandbox.files.read(f"{HOME}/many/a.txt") == "A"
        assert bytes(sandbox.files.read(f"{HOME}/many/b.bin", format="bytes")) == b"\x00B"

    def test_write_streams_file_objects_iterables_and_gzip(self, sandbox: Sandbox):
        # File objects and iterables go up as application/octet-stream (streamed, not buffered).
        sandbox.files.write(f"{HOME}/from-io.bin", io.BytesIO(BINARY))
        assert bytes(sandbox.files.read(f"{HOME}/from-io.bin", format="bytes")) == BINARY
        sandbox.files.write(f"{HOME}/from-iter.txt", iter([b"one ", b"two ", b"three"]))
        assert sandbox.files.read(f"{HOME}/from-iter.txt") == "one two three"
        sandbox.files.write(f"{HOME}/gz.txt", "gzip " * 1000, gzip=True)
        assert sandbox.files.read(f"{HOME}/gz.txt", gzip=True) == "gzip " * 1000

    def test_file_metadata(self, sandbox: Sandbox):
        info = sandbox.files.write(f"{HOME}/tagged.txt", "t", metadata={"Owner": "py", "task": "42"})
        # Keys are lowercased by the sandbox.
        assert info.metadata == {"owner": "py", "task": "42"}
        assert sandbox.files.get_info(f"{HOME}/tagged.txt").metadata == {"owner": "py", "task": "42"}

    def test_read_missing_file_is_not_found(self, sandbox: Sandbox):
        with pytest.raises(FileNotFoundException):
            sandbox.files.read(f"{HOME}/missing.txt")

    def test_read_proc_file_to_its_end(self, sandbox: Sandbox):
        # /proc files report size 0 in stat; their content must be read to the end all the same.
        version = sandbox.files.read("/proc/version")
        assert version.startswith("Linux version")
        assert "MemTotal:" in sandbox.files.read("/proc/meminfo")

    def test_list_and_get_info(self, sandbox: Sandbox):
        sandbox.files.write(f"{HOME}/tree/a.txt", "aaaa")
        sandbox.files.write(f"{HOME}/tree/sub/b.txt", "b")
        top = sandbox.files.list(f"{HOME}/tree")
        assert sorted((e.name, e.type) for e in top) == [("a.txt", FileType.FILE), ("sub", FileType.DIR)]
        deep = sandbox.files.list(f"{HOME}/tree", depth=2)
        assert sorted(e.path for e in deep) == [f"{HOME}/tree/a.txt", f"{HOME}/tree/sub", f"{HOME}/tree/sub/b.txt"]

        info = sandbox.files.get_info(f"{HOME}/tree/a.txt")
        assert info.type == FileType.FILE
        assert info.size == 4
        assert info.owner == "user"
        assert info.permissions == "-rw-r--r--"
        assert info.symlink_target is None
        assert sandbox.files.get_info(f"{HOME}/tree/sub").type == FileType.DIR

    def test_symlinks_report_the_target_type(self, sandbox: Sandbox):
        sandbox.files.write(f"{HOME}/links/target.txt", "t")
        sandbox.files.make_dir(f"{HOME}/links/dir")
        sandbox.commands.run(
            f"cd {HOME}/links && ln -s target.txt to-file && ln -s dir to-dir && ln -s nowhere dangling"
        )
        to_file = sandbox.files.get_info(f"{HOME}/links/to-file")
        assert to_file.type == FileType.FILE
        assert to_file.symlink_target == f"{HOME}/links/target.txt"
        to_dir = sandbox.files.get_info(f"{HOME}/links/to-dir")
        assert to_dir.type == FileType.DIR
        assert to_dir.symlink_target == f"{HOME}/links/dir"
        # A dangling link does not break listing its directory.
        names = {e.name for e in sandbox.files.list(f"{HOME}/links")}
        assert {"target.txt", "dir", "to-file", "to-dir"} <= names

    def test_make_dir_rename_remove_exists(self, sandbox: Sandbox):
        assert sandbox.files.make_dir(f"{HOME}/d1/d2") is True
        assert sandbox.files.make_dir(f"{HOME}/d1/d2") is False
        sandbox.files.write(f"{HOME}/d1/d2/f.txt", "x")
        moved = sandbox.files.rename(f"{HOME}/d1/d2/f.txt", f"{HOME}/d1/g.txt")
        assert moved.path == f"{HOME}/d1/g.txt"
        assert not sandbox.files.exists(f"{HOME}/d1/d2/f.txt")
        assert sandbox.files.exists(f"{HOME}/d1/g.txt")
        sandbox.files.remove(f"{HOME}/d1")
        assert not sandbox.files.exists(f"{HOME}/d1")
        with pytest.raises(FileNotFoundException):
            sandbox.files.get_info(f"{HOME}/d1/g.txt")

    def test_watch_dir_polling(self, sandbox: Sandbox):
        sandbox.files.make_dir(f"{HOME}/watched")
        handle = sandbox.files.watch_dir(f"{HOME}/watched")
        try:
            sandbox.files.write(f"{HOME}/watched/new.txt", "n")
            event, _ = _wait_for_event_sync(handle, "new.txt")
            assert event.entry is None
        finally:
            handle.stop()

    def test_watch_dir_polling_with_entry(self, sandbox: Sandbox):
        sandbox.files.make_dir(f"{HOME}/watched")
        handle = sandbox.files.watch_dir(f"{HOME}/watched", include_entry=True)
        try:
            sandbox.files.write(f"{HOME}/watched/new.txt", "n")
            event, _ = _wait_for_event_sync(handle, "new.txt")
            assert event.entry is not None
            assert event.entry.path == f"{HOME}/watched/new.txt"
            assert event.entry.type == FileType.FILE
        finally:
            handle.stop()

    def test_signed_upload_and_download_urls(self, sandbox: Sandbox):
        upload = sandbox.upload_url(f"{HOME}/via-url.bin")
        res = httpx.post(upload, files={"file": ("via-url.bin", BINARY[:5000])}, timeout=30)
        assert res.status_code == 200, res.text
        download = sandbox.download_url(f"{HOME}/via-url.bin")
        res = httpx.get(download, timeout=30)
        assert res.status_code == 200
        assert res.content == BINARY[:5000]
        # A URL is signed for one path and one operation only.
        assert httpx.get(download.replace("via-url.bin", "other.bin"), timeout=30).status_code in (401, 403)

    def test_signed_upload_of_a_plain_form_field(self, sandbox: Sandbox):
        # A multipart part without a filename (string data) is the file's content too.
        upload = sandbox.upload_url(f"{HOME}/field.txt")
        res = httpx.post(upload, files={"file": (None, "from a form field")}, timeout=30)
        assert res.status_code == 200, res.text
        assert sandbox.files.read(f"{HOME}/field.txt") == "from a form field"


class TestAsync:
    async def test_write_and_read(self, async_sandbox: AsyncSandbox):
        await async_sandbox.files.write(f"{HOME}/a.txt", "async text")
        assert await async_sandbox.files.read(f"{HOME}/a.txt") == "async text"
        await async_sandbox.files.write(f"{HOME}/a.bin", BINARY)
        assert bytes(await async_sandbox.files.read(f"{HOME}/a.bin", format="bytes")) == BINARY

    async def test_directory_operations(self, async_sandbox: AsyncSandbox):
        files = async_sandbox.files
        assert await files.make_dir(f"{HOME}/ad") is True
        await files.write(f"{HOME}/ad/x.txt", "x")
        assert [e.name for e in await files.list(f"{HOME}/ad")] == ["x.txt"]
        assert (await files.get_info(f"{HOME}/ad/x.txt")).size == 1
        await files.rename(f"{HOME}/ad/x.txt", f"{HOME}/ad/y.txt")
        assert await files.exists(f"{HOME}/ad/y.txt")
        assert not await files.exists(f"{HOME}/ad/x.txt")
        await files.remove(f"{HOME}/ad")
        assert not await files.exists(f"{HOME}/ad")
        with pytest.raises(FileNotFoundException):
            await files.read(f"{HOME}/ad/y.txt")

    async def test_watch_dir_streams_events(self, async_sandbox: AsyncSandbox):
        await async_sandbox.files.make_dir(f"{HOME}/watched")
        events: asyncio.Queue = asyncio.Queue()
        handle = await async_sandbox.files.watch_dir(f"{HOME}/watched", on_event=events.put_nowait, include_entry=True)
        try:
            await async_sandbox.files.write(f"{HOME}/watched/new.txt", "n")
            while True:
                event = await asyncio.wait_for(events.get(), timeout=15)
                if event.name == "new.txt" and event.type in (FilesystemEventType.CREATE, FilesystemEventType.WRITE):
                    break
            assert event.entry is not None
            assert event.entry.path == f"{HOME}/watched/new.txt"
        finally:
            await handle.stop()

    async def test_read_proc_file_to_its_end(self, async_sandbox: AsyncSandbox):
        assert (await async_sandbox.files.read("/proc/version")).startswith("Linux version")
