"""A SQLite store on a network file system is found from /proc/mounts, and warned about once."""

from __future__ import annotations

import warnings

import pytest
from sqlalchemy.engine import URL

from workbench.jobs import netfs
from workbench.jobs.engine import NetworkFileSystemWarning
from workbench.jobs.netfs import filesystem_type, network_filesystem, parse_mounts
from workbench.jobs.store import JobStore

MOUNTS = """\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
/dev/nvme0n1p2 / ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
nas01:/export/home /home nfs4 rw,relatime,vers=4.2,rsize=1048576,hard,proto=tcp 0 0
/dev/nvme1n1 /home/ana/local xfs rw,relatime 0 0
10.1.0.5@o2ib:/scratch /scratch lustre rw,flock,lazystatfs 0 0
//fs/lab /mnt/lab\\040share cifs rw,vers=3.1.1 0 0
user@host:/data /mnt/remote fuse.sshfs rw,nosuid,nodev 0 0
gpfs1 /gpfs gpfs rw,relatime 0 0
beegfs_nodev /mnt/beegfs beegfs rw,relatime 0 0
"""


def test_parse_mounts_reads_points_and_types():
    mounts = parse_mounts(MOUNTS + "a line that is not a mount\n\n")
    assert ("/home", "nfs4") in mounts and ("/mnt/lab share", "cifs") in mounts
    assert len(mounts) == 10


@pytest.mark.parametrize(("path", "kind", "network"), [
    ("/home/ana/.workbench/jobs.sqlite", "nfs4", "nfs4"),
    ("/home/ana/local/jobs.sqlite", "xfs", None),           # a local disk mounted inside the NFS home
    ("/homework/jobs.sqlite", "ext4", None),                  # a prefix of the name is not a parent folder
    ("/scratch/ana/jobs.sqlite", "lustre", "lustre"),
    ("/mnt/lab share/jobs.sqlite", "cifs", "cifs"),
    ("/mnt/remote/jobs.sqlite", "fuse.sshfs", "fuse.sshfs"),
    ("/gpfs/projects/jobs.sqlite", "gpfs", "gpfs"),
    ("/mnt/beegfs/jobs.sqlite", "beegfs", "beegfs"),
    ("/tmp/jobs.sqlite", "tmpfs", None),
    ("/var/lib/jobs.sqlite", "ext4", None),
])
def test_the_longest_mount_point_decides(path, kind, network):
    assert filesystem_type(path, MOUNTS) == kind
    assert network_filesystem(path, MOUNTS) == network


def test_the_mount_on_top_wins():
    stacked = "/dev/sda1 / ext4 rw 0 0\nnas:/a /data nfs rw 0 0\n/dev/sdb1 /data ext4 rw 0 0\n"
    assert network_filesystem("/data/jobs.sqlite", stacked) is None
    assert filesystem_type("/data/jobs.sqlite", "") is None


def test_a_store_on_a_network_file_system_warns_once(tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nnas:/export {tmp_path.resolve() / 'nfs'} nfs4 rw 0 0\n")
    monkeypatch.setattr(netfs, "PROC_MOUNTS", mounts)
    url = URL.create("sqlite", database=str(tmp_path / "nfs" / "jobs.sqlite")).render_as_string()
    with pytest.warns(NetworkFileSystemWarning) as caught:
        JobStore(url).close()
    (warning,) = caught
    message = str(warning.message)
    assert "\n" not in message and "nfs4" in message and "PostgreSQL" in message and "local path" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JobStore(url).close()  # the same file again: no second warning
        JobStore(URL.create("sqlite", database=str(tmp_path / "local.sqlite")).render_as_string()).close()
