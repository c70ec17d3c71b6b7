"""molecule-plugins' own Ansible module ``vagrant``, which its Vagrant driver's
create and destroy playbooks call by that short name.

molecule-plugins 26.9.28 ships the module in molecule_plugins/vagrant/modules/, but
Molecule 26 no longer puts a driver's modules on Ansible's library path, and that
directory's path depends on the Python of the virtual environment. The scenarios'
ANSIBLE_LIBRARY points here instead, and this file runs the installed module as is.
(molecule-plugins 26.10 dropped the module for community.vagrant.vagrant from Galaxy.)
"""

# AnsiballZ ships ansible.module_utils.basic with this module only when it is imported here.
from ansible.module_utils.basic import AnsibleModule  # noqa: F401 pylint: disable=unused-import
from molecule_plugins.vagrant.modules.vagrant import main

if __name__ == "__main__":
    main()
