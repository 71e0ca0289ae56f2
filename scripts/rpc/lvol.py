"""Logical volume methods: lvol stores and lvols (SPDK's names and arguments)."""
from .helpers import print_json


def _drop_none(params):
    return {k: v for k, v in params.items() if v is not None}


def bdev_lvol_create_lvstore(client, bdev_name, lvs_name, cluster_sz=None, clear_method=None,
                             num_md_pages_per_cluster_ratio=None, md_page_size=None):
    return client.call('bdev_lvol_create_lvstore', _drop_none({
        'bdev_name': bdev_name, 'lvs_name': lvs_name, 'cluster_sz': cluster_sz,
        'clear_method': clear_method,
        'num_md_pages_per_cluster_ratio': num_md_pages_per_cluster_ratio, 'md_page_size': md_page_size}))


def bdev_lvol_rename_lvstore(client, old_name, new_name):
    return client.call('bdev_lvol_rename_lvstore', {'old_name': old_name, 'new_name': new_name})


def bdev_lvol_grow_lvstore(client, uuid=None, lvs_name=None):
    return client.call('bdev_lvol_grow_lvstore', _drop_none({'uuid': uuid, 'lvs_name': lvs_name}))


def bdev_lvol_delete_lvstore(client, uuid=None, lvs_name=None):
    return client.call('bdev_lvol_delete_lvstore', _drop_none({'uuid': uuid, 'lvs_name': lvs_name}))


def bdev_lvol_get_lvstores(client, uuid=None, lvs_name=None):
    return client.call('bdev_lvol_get_lvstores', _drop_none({'uuid': uuid, 'lvs_name': lvs_name}))


def bdev_lvol_create(client, lvol_name, size_in_mib, thin_provision=False, uuid=None, lvs_name=None,
                     clear_method=None):
    return client.call('bdev_lvol_create', _drop_none({
        'lvol_name': lvol_name, 'size_in_mib': size_in_mib, 'thin_provision': thin_provision,
        'uuid': uuid, 'lvs_name': lvs_name, 'clear_method': clear_method}))


def bdev_lvol_snapshot(client, lvol_name, snapshot_name):
    return client.call('bdev_lvol_snapshot', {'lvol_name': lvol_name, 'snapshot_name': snapshot_name})


def bdev_lvol_clone(client, snapshot_name, clone_name):
    return client.call('bdev_lvol_clone', {'snapshot_name': snapshot_name, 'clone_name': clone_name})


def bdev_lvol_rename(client, old_name, new_name):
    return client.call('bdev_lvol_rename', {'old_name': old_name, 'new_name': new_name})


def bdev_lvol_resize(client, name, size_in_mib):
    return client.call('bdev_lvol_resize', {'name': name, 'size_in_mib': size_in_mib})


def bdev_lvol_set_read_only(client, name):
    return client.call('bdev_lvol_set_read_only', {'name': name})


def bdev_lvol_inflate(client, name):
    return client.call('bdev_lvol_inflate', {'name': name})


def bdev_lvol_set_parent(client, lvol_name, parent_name):
    return client.call('bdev_lvol_set_parent', {'lvol_name': lvol_name, 'parent_name': parent_name})


def bdev_lvol_decouple_parent(client, name):
    return client.call('bdev_lvol_decouple_parent', {'name': name})


def bdev_lvol_delete(client, name):
    return client.call('bdev_lvol_delete', {'name': name})


def bdev_lvol_get_lvols(client, lvs_uuid=None, lvs_name=None):
    return client.call('bdev_lvol_get_lvols', _drop_none({'lvs_uuid': lvs_uuid, 'lvs_name': lvs_name}))


def bdev_lvol_start_shallow_copy(client, src_lvol_name, dst_bdev_name):
    return client.call('bdev_lvol_start_shallow_copy', {'src_lvol_name': src_lvol_name,
                                                        'dst_bdev_name': dst_bdev_name})


def bdev_lvol_check_shallow_copy(client, operation_id):
    return client.call('bdev_lvol_check_shallow_copy', {'operation_id': operation_id})


def bdev_lvol_set_parent_bdev(client, lvol_name, esnap_name):
    return client.call('bdev_lvol_set_parent_bdev', {'lvol_name': lvol_name, 'esnap_name': esnap_name})


def bdev_lvol_clone_bdev(client, bdev, lvs_name, clone_name):
    return client.call('bdev_lvol_clone_bdev', {'bdev': bdev, 'lvs_name': lvs_name, 'clone_name': clone_name})


def add_parsers(subparsers):
    p = subparsers.add_parser('bdev_lvol_create_lvstore', help='Add a logical volume store on a bdev')
    p.add_argument('bdev_name', help='base bdev name')
    p.add_argument('lvs_name', help='name for the lvol store')
    p.add_argument('-c', '--cluster-sz', type=int, help='size of cluster in bytes (multiple of 4096)')
    p.add_argument('--clear-method', help='change clear method for data region: none, unmap, write_zeroes')
    p.add_argument('-m', '--md-pages-per-cluster-ratio', type=int,
                   help='reserved metadata pages for each 100 clusters')
    p.add_argument('-s', '--md-page-size', type=int, help='metadata page size (only 4096 is supported)')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_create_lvstore(
        a.client, a.bdev_name, a.lvs_name, a.cluster_sz, a.clear_method, a.md_pages_per_cluster_ratio,
        a.md_page_size)))

    p = subparsers.add_parser('bdev_lvol_rename_lvstore', help='Change logical volume store name')
    p.add_argument('old_name', help='old name')
    p.add_argument('new_name', help='new name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_rename_lvstore(a.client, a.old_name, a.new_name)))

    p = subparsers.add_parser('bdev_lvol_grow_lvstore',
                              help='Grow the lvol store to the size of its base bdev')
    p.add_argument('-u', '--uuid', help='lvol store UUID')
    p.add_argument('-l', '--lvs-name', help='lvol store name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_grow_lvstore(a.client, a.uuid, a.lvs_name)))

    p = subparsers.add_parser('bdev_lvol_delete_lvstore', help='Destroy a logical volume store')
    p.add_argument('-u', '--uuid', help='lvol store UUID')
    p.add_argument('-l', '--lvs-name', help='lvol store name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_delete_lvstore(a.client, a.uuid, a.lvs_name)))

    p = subparsers.add_parser('bdev_lvol_get_lvstores', help='Display current logical volume store list')
    p.add_argument('-u', '--uuid', help='lvol store UUID')
    p.add_argument('-l', '--lvs-name', help='lvol store name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_get_lvstores(a.client, a.uuid, a.lvs_name)))

    p = subparsers.add_parser('bdev_lvol_create', help='Add a bdev with a logical volume backend')
    p.add_argument('-u', '--uuid', help='lvol store UUID')
    p.add_argument('-l', '--lvs-name', help='lvol store name')
    p.add_argument('-t', '--thin-provision', action='store_true', help='create lvol bdev as thin provisioned')
    p.add_argument('-c', '--clear-method', help='change default data clusters clear method: none, unmap, '
                   'write_zeroes')
    p.add_argument('lvol_name', help='name for this lvol')
    p.add_argument('size_in_mib', type=int, help='size in MiB for this bdev')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_create(
        a.client, a.lvol_name, a.size_in_mib, a.thin_provision, a.uuid, a.lvs_name, a.clear_method)))

    p = subparsers.add_parser('bdev_lvol_snapshot', help='Create a snapshot of an lvol bdev')
    p.add_argument('lvol_name', help='lvol bdev name')
    p.add_argument('snapshot_name', help='lvol snapshot name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_snapshot(a.client, a.lvol_name, a.snapshot_name)))

    p = subparsers.add_parser('bdev_lvol_clone', help='Create a clone of an lvol snapshot')
    p.add_argument('snapshot_name', help='lvol snapshot name')
    p.add_argument('clone_name', help='lvol clone name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_clone(a.client, a.snapshot_name, a.clone_name)))

    p = subparsers.add_parser('bdev_lvol_rename', help='Change lvol bdev name')
    p.add_argument('old_name', help='lvol bdev name')
    p.add_argument('new_name', help='new lvol name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_rename(a.client, a.old_name, a.new_name)))

    p = subparsers.add_parser('bdev_lvol_resize', help='Resize existing lvol bdev')
    p.add_argument('name', help='lvol bdev name')
    p.add_argument('size_in_mib', type=int, help='new size in MiB for this bdev')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_resize(a.client, a.name, a.size_in_mib)))

    p = subparsers.add_parser('bdev_lvol_set_read_only', help='Mark lvol bdev as read only')
    p.add_argument('name', help='lvol bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_set_read_only(a.client, a.name)))

    p = subparsers.add_parser('bdev_lvol_inflate', help='Make thin provisioned lvol a thick provisioned lvol')
    p.add_argument('name', help='lvol bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_inflate(a.client, a.name)))

    p = subparsers.add_parser('bdev_lvol_decouple_parent', help='Decouple parent of lvol')
    p.add_argument('name', help='lvol bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_decouple_parent(a.client, a.name)))

    p = subparsers.add_parser('bdev_lvol_set_parent', help='Make a thin lvol a clone of a snapshot')
    p.add_argument('lvol_name', help='lvol bdev name (thin provisioned)')
    p.add_argument('parent_name', help='snapshot lvol bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_set_parent(a.client, a.lvol_name, a.parent_name)))

    p = subparsers.add_parser('bdev_lvol_start_shallow_copy', help='Copy the clusters a read-only lvol has '
                              'allocated itself to a bdev (state: bdev_lvol_check_shallow_copy)')
    p.add_argument('src_lvol_name', help='read-only lvol (a snapshot) to copy from')
    p.add_argument('dst_bdev_name', help='bdev to copy to, at least as large')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_start_shallow_copy(a.client, a.src_lvol_name,
                                                                          a.dst_bdev_name)))

    p = subparsers.add_parser('bdev_lvol_check_shallow_copy', help='State of a shallow copy')
    p.add_argument('operation_id', help='operation_id from bdev_lvol_start_shallow_copy', type=int)
    p.set_defaults(func=lambda a: print_json(bdev_lvol_check_shallow_copy(a.client, a.operation_id)))

    p = subparsers.add_parser('bdev_lvol_delete', help='Destroy a logical volume')
    p.add_argument('name', help='lvol bdev name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_delete(a.client, a.name)))

    p = subparsers.add_parser('bdev_lvol_get_lvols', help='List logical volumes')
    p.add_argument('-u', '--lvs-uuid', help='only lvols in the lvol store with this UUID')
    p.add_argument('-l', '--lvs-name', help='only lvols in the lvol store with this name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_get_lvols(a.client, a.lvs_uuid, a.lvs_name)))

    # External snapshot parents: Brisk's target refuses both (no esnap in its blobstore).
    p = subparsers.add_parser('bdev_lvol_set_parent_bdev', help='Set an external bdev as the parent of an lvol '
                              '(not supported by Brisk)')
    p.add_argument('lvol_name', help='lvol name')
    p.add_argument('esnap_name', help='external snapshot (bdev) name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_set_parent_bdev(a.client, a.lvol_name, a.esnap_name)))

    p = subparsers.add_parser('bdev_lvol_clone_bdev', help='Create an lvol clone of a bdev (not supported by Brisk)')
    p.add_argument('bdev', help='bdev to clone (name or UUID)')
    p.add_argument('lvs_name', help='lvol store name')
    p.add_argument('clone_name', help='lvol clone name')
    p.set_defaults(func=lambda a: print_json(bdev_lvol_clone_bdev(a.client, a.bdev, a.lvs_name, a.clone_name)))
